package protocol

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeControlLines(t *testing.T) {
	m, err := Decode([]byte(`{"type":"control_request","request_id":"u-1","request":{"subtype":"hook_callback","callback_id":"hook_0","input":{"tool_name":"Bash"}}}`))
	require.NoError(t, err)
	req, ok := m.(*ControlRequest)
	require.True(t, ok, "%T", m)
	assert.Equal(t, "u-1", req.RequestID)
	assert.Equal(t, ControlHookCallback, req.Subtype)
	assert.Contains(t, string(req.Request), `"callback_id":"hook_0"`)

	m, err = Decode([]byte(`{"type":"control_response","response":{"subtype":"error","request_id":"req_1","error":"nope"}}`))
	require.NoError(t, err)
	resp := m.(*ControlResponse)
	assert.Equal(t, "req_1", resp.RequestID)
	assert.Equal(t, "error", resp.Subtype)
	assert.Equal(t, "nope", resp.Error)

	m, err = Decode([]byte(`{"type":"control_response","response":{"subtype":"success","request_id":"req_2","response":{"commands":[]}}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"commands":[]}`, string(m.(*ControlResponse).Response))

	m, err = Decode([]byte(`{"type":"control_cancel_request","request_id":"u-1"}`))
	require.NoError(t, err)
	assert.Equal(t, "u-1", m.(*ControlCancel).RequestID)

	m, err = Decode([]byte(`{"type":"control_request","request_id":"u-2","request":"not an object"}`))
	require.NoError(t, err, "still a request: it must be answered")
	assert.Equal(t, "u-2", m.(*ControlRequest).RequestID)
	assert.Empty(t, m.(*ControlRequest).Subtype, "answered as an unknown subtype")

	_, err = Decode([]byte(`{"type":"control_request","request_id":7}`))
	assert.Error(t, err, "a request id that is not a string")
}

func TestControlLinesRoundTrip(t *testing.T) {
	line, err := ControlRequestLine("req_3", ControlSetModel, map[string]any{"model": "sonnet", "subtype": "ignored"})
	require.NoError(t, err)
	var req struct {
		Type      string         `json:"type"`
		RequestID string         `json:"request_id"`
		Request   map[string]any `json:"request"`
	}
	require.NoError(t, json.Unmarshal(line, &req))
	assert.Equal(t, TypeControlRequest, req.Type)
	assert.Equal(t, "req_3", req.RequestID)
	assert.Equal(t, map[string]any{"subtype": "set_model", "model": "sonnet"}, req.Request, "the subtype cannot be overridden by a field")

	line, err = ControlSuccessLine("u-1", nil)
	require.NoError(t, err)
	m, err := Decode(line[:len(line)-1])
	require.NoError(t, err)
	assert.Equal(t, "success", m.(*ControlResponse).Subtype)
	assert.JSONEq(t, `{}`, string(m.(*ControlResponse).Response), "nil is sent as {}")

	m, err = Decode(ControlErrorLine("u-2", "bad")[:len(ControlErrorLine("u-2", "bad"))-1])
	require.NoError(t, err)
	assert.Equal(t, "bad", m.(*ControlResponse).Error)
}
