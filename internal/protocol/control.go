package protocol

import (
	"encoding/json"
	"fmt"
)

// The control protocol: with --input-format stream-json the CLI and its
// host send each other control requests, each answered once by a control
// response carrying the same request_id:
//
//	-> {"type":"control_request","request_id":"req_1","request":{"subtype":"initialize",...}}
//	<- {"type":"control_response","response":{"subtype":"success","request_id":"req_1","response":{...}}}
//
// and the CLI may withdraw one of its requests with
// {"type":"control_cancel_request","request_id":".."}.

// Type names of the control lines.
const (
	TypeControlRequest  = "control_request"
	TypeControlResponse = "control_response"
	TypeControlCancel   = "control_cancel_request"
)

// Subtypes of the control requests seen on 2.1.197: the host's, then the
// CLI's.
const (
	ControlInitialize        = "initialize"
	ControlInterrupt         = "interrupt"
	ControlSetModel          = "set_model"
	ControlSetPermissionMode = "set_permission_mode"
	ControlCanUseTool        = "can_use_tool"
	ControlHookCallback      = "hook_callback"
	ControlMCPMessage        = "mcp_message"
)

// ControlRequest is a control request of the CLI's, for the host to answer.
type ControlRequest struct {
	raw
	RequestID string
	Subtype   string
	// Request is the whole "request" object, subtype included.
	Request json.RawMessage
}

// ControlResponse is the CLI's answer to a control request of the host's.
type ControlResponse struct {
	raw
	RequestID string
	// Subtype is "success" or "error".
	Subtype string
	// Response is the "response" object of a success, nil if none.
	Response json.RawMessage
	// Error is the message of an error.
	Error string
}

// ControlCancel withdraws a control request of the CLI's.
type ControlCancel struct {
	raw
	RequestID string
}

// Type returns "control_request".
func (*ControlRequest) Type() string { return TypeControlRequest }

// Type returns "control_response".
func (*ControlResponse) Type() string { return TypeControlResponse }

// Type returns "control_cancel_request".
func (*ControlCancel) Type() string { return TypeControlCancel }

func (*ControlRequest) isMessage()  {}
func (*ControlResponse) isMessage() {}
func (*ControlCancel) isMessage()   {}

type controlRequestWire struct {
	RequestID string          `json:"request_id"`
	Request   json.RawMessage `json:"request"`
}

type controlResponseWire struct {
	Response struct {
		Subtype   string          `json:"subtype"`
		RequestID string          `json:"request_id"`
		Response  json.RawMessage `json:"response"`
		Error     string          `json:"error"`
	} `json:"response"`
}

func decodeControl(typ string, line []byte) (Message, error) {
	switch typ {
	case TypeControlRequest:
		var w controlRequestWire
		if err := json.Unmarshal(line, &w); err != nil {
			return nil, err
		}
		var head struct {
			Subtype string `json:"subtype"`
		}
		if len(w.Request) > 0 {
			// A request that is not an object has no subtype: it is still
			// a request, answered as one of an unknown subtype.
			json.Unmarshal(w.Request, &head) //nolint:errcheck // see above
		}
		return &ControlRequest{raw: raw{line}, RequestID: w.RequestID, Subtype: head.Subtype, Request: w.Request}, nil
	case TypeControlResponse:
		var w controlResponseWire
		if err := json.Unmarshal(line, &w); err != nil {
			return nil, err
		}
		r := w.Response
		return &ControlResponse{raw: raw{line}, RequestID: r.RequestID, Subtype: r.Subtype, Response: r.Response, Error: r.Error}, nil
	default: // TypeControlCancel
		var w struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(line, &w); err != nil {
			return nil, err
		}
		return &ControlCancel{raw: raw{line}, RequestID: w.RequestID}, nil
	}
}

// ControlRequestLine is the line of a control request of the host's: id
// and request, an object whose fields go next to "subtype".
func ControlRequestLine(id, subtype string, request map[string]any) ([]byte, error) {
	body := map[string]any{"subtype": subtype}
	for k, v := range request {
		if k != "subtype" {
			body[k] = v
		}
	}
	return line(map[string]any{"type": TypeControlRequest, "request_id": id, "request": body})
}

// ControlSuccessLine is the host's answer to the CLI's request id; a nil
// response is sent as {}.
func ControlSuccessLine(id string, response any) ([]byte, error) {
	if response == nil {
		response = struct{}{}
	}
	return line(map[string]any{"type": TypeControlResponse, "response": map[string]any{
		"subtype": "success", "request_id": id, "response": response,
	}})
}

// ControlErrorLine is the host's error answer to the CLI's request id.
func ControlErrorLine(id, message string) []byte {
	b, err := line(map[string]any{"type": TypeControlResponse, "response": map[string]any{
		"subtype": "error", "request_id": id, "error": message,
	}})
	if err != nil {
		panic("protocol: an error answer always marshals: " + err.Error())
	}
	return b
}

func line(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("agent: encode control line: %w", err)
	}
	return append(b, '\n'), nil
}
