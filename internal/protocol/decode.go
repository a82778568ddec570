package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"time"
)

// Decode decodes one line of stream-json output (without its line ending)
// into a typed message. A valid JSON object of an unknown type gives an
// *UnknownMessage; a malformed one, or a known type whose fields have the
// wrong JSON types, gives a *DecodeError. The message keeps its own copy of
// line: the caller may reuse line's memory afterwards.
//
// Decode reads "type" with a cheap scan, then decodes the line once into
// the concrete message.
func Decode(line []byte) (Message, error) {
	if firstByte(line) != '{' {
		return nil, decodeError(line, errors.New("not a JSON object"))
	}
	typ, ok := topLevelType(line)
	if !ok {
		// Escaped or missing "type": let encoding/json find it, which also
		// validates the line.
		var env struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &env); err != nil && !isTypeError(err) {
			return nil, decodeError(line, err)
		}
		typ = env.Type
	}
	own := bytes.Clone(line)
	m, err := decodeAs(typ, own)
	if err != nil {
		return nil, decodeError(line, err)
	}
	return m, nil
}

// decodeAs decodes line, which the message will own, as a message of type
// typ.
func decodeAs(typ string, line []byte) (Message, error) {
	switch typ {
	case TypeSystem:
		return decodeSystem(line)
	case TypeAssistant:
		return decodeAssistant(line)
	case TypeUser:
		return decodeUser(line)
	case TypeResult:
		// A field of the wrong JSON type, or a number out of range, is
		// left zero rather than losing the run's outcome; only the fields
		// that say what the outcome is must fit.
		var w resultWire
		if err := json.Unmarshal(line, &w); err != nil {
			if !isTypeError(err) {
				return nil, err
			}
			var outcome struct {
				Subtype string `json:"subtype"`
				IsError bool   `json:"is_error"`
			}
			if err := json.Unmarshal(line, &outcome); err != nil {
				return nil, err
			}
		}
		cost, costKnown := usdAmount(w.TotalCostUSD)
		return &ResultMessage{
			raw:              raw{line},
			Subtype:          w.Subtype,
			IsError:          w.IsError,
			APIErrorStatus:   w.APIErrorStatus,
			DurationMS:       int64(w.DurationMS),
			DurationAPIMS:    int64(w.DurationAPIMS),
			NumTurns:         w.NumTurns,
			Result:           w.Result,
			SessionID:        w.SessionID,
			UUID:             w.UUID,
			TotalCostUSD:     cost,
			CostKnown:        costKnown,
			Usage:            w.Usage,
			ModelUsage:       w.ModelUsage,
			StopReason:       w.StopReason,
			TerminalReason:   w.TerminalReason,
			StructuredOutput: w.StructuredOutput,
		}, nil
	case TypeRateLimitEvent:
		var w rateLimitWire
		if err := json.Unmarshal(line, &w); err != nil {
			return nil, err
		}
		return &RateLimitEvent{
			raw:                   raw{line},
			Status:                w.Info.Status,
			ResetsAt:              unixSeconds(w.Info.ResetsAt),
			RateLimitType:         w.Info.RateLimitType,
			Utilization:           w.Info.Utilization,
			OverageStatus:         w.Info.OverageStatus,
			OverageResetsAt:       unixSeconds(w.Info.OverageResetsAt),
			OverageDisabledReason: w.Info.OverageDisabledReason,
			SessionID:             w.SessionID,
			UUID:                  w.UUID,
		}, nil
	case TypeControlRequest, TypeControlResponse, TypeControlCancel:
		return decodeControl(typ, line)
	case TypeStreamEvent:
		var w streamEventWire
		if err := json.Unmarshal(line, &w); err != nil {
			return nil, err
		}
		return &StreamEvent{
			raw:             raw{line},
			Event:           w.Event,
			SessionID:       w.SessionID,
			UUID:            w.UUID,
			ParentToolUseID: w.ParentToolUseID,
		}, nil
	}
	if !json.Valid(line) {
		// Report the syntax error encoding/json finds.
		var v struct{}
		return nil, json.Unmarshal(line, &v)
	}
	return &UnknownMessage{raw: raw{line}, TypeName: typ}, nil
}

// decodeAssistant decodes in one pass with content blocks as a union
// struct; when that does not fit (unknown block types, whose raw JSON must
// be kept, or fields of unexpected types) it decodes again block by block.
func decodeAssistant(line []byte) (Message, error) {
	var w assistantWire[[]wireBlock]
	err := json.Unmarshal(line, &w)
	content, known := w.Message.Content, knownBlocks(w.Message.Content)
	if err != nil || !known {
		if err != nil && !isTypeError(err) {
			return nil, err
		}
		var slow assistantWire[blockList]
		if err := json.Unmarshal(line, &slow); err != nil {
			return nil, err
		}
		return newAssistant(line, &slow, slow.Message.Content), nil
	}
	return newAssistant(line, &w, toBlocks(content)), nil
}

func newAssistant[C any](line []byte, w *assistantWire[C], content []ContentBlock) *AssistantMessage {
	return &AssistantMessage{
		raw:             raw{line},
		ID:              w.Message.ID,
		Model:           w.Message.Model,
		Content:         content,
		StopReason:      w.Message.StopReason,
		Usage:           w.Message.Usage,
		Error:           w.Error,
		SessionID:       w.SessionID,
		UUID:            w.UUID,
		ParentToolUseID: w.ParentToolUseID,
	}
}

// decodeUser decodes like decodeAssistant; a plain-string content also
// takes the second pass.
func decodeUser(line []byte) (Message, error) {
	var w userWire[[]wireBlock]
	err := json.Unmarshal(line, &w)
	content, known := w.Message.Content, knownBlocks(w.Message.Content)
	if err != nil || !known {
		if err != nil && !isTypeError(err) {
			return nil, err
		}
		var slow userWire[blockList]
		if err := json.Unmarshal(line, &slow); err != nil {
			return nil, err
		}
		return newUser(line, &slow, slow.Message.Content), nil
	}
	return newUser(line, &w, toBlocks(content)), nil
}

func newUser[C any](line []byte, w *userWire[C], content []ContentBlock) *UserMessage {
	return &UserMessage{
		raw:             raw{line},
		Content:         content,
		SessionID:       w.SessionID,
		UUID:            w.UUID,
		ParentToolUseID: w.ParentToolUseID,
		ToolUseResult:   w.ToolUseResult,
	}
}

func decodeSystem(line []byte) (Message, error) {
	var w systemWire
	err := json.Unmarshal(line, &w)
	typed := w.Subtype == SubtypeInit || w.Subtype == SubtypeAPIRetry
	if err != nil && (typed || !isTypeError(err)) {
		// Fields of other subtypes may reuse init's or api_retry's
		// names with other JSON types: only the typed subtypes must fit.
		return nil, err
	}
	m := &SystemMessage{raw: raw{line}, Subtype: w.Subtype, SessionID: w.SessionID, UUID: w.UUID}
	switch w.Subtype {
	case SubtypeInit:
		data := w.InitData
		m.Init = &data
	case SubtypeAPIRetry:
		m.APIRetry = &APIRetry{
			Attempt:      w.Attempt,
			MaxRetries:   w.MaxRetries,
			RetryDelayMS: saturatedInt64(w.RetryDelayMS),
			ErrorStatus:  w.ErrorStatus,
			Error:        w.Error,
		}
	default:
		if err := json.Unmarshal(line, &m.Data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Wire forms: the JSON shape of each message type, decoded in one pass.

type systemWire struct {
	Subtype   string `json:"subtype"`
	SessionID string `json:"session_id"`
	UUID      string `json:"uuid"`
	InitData
	Attempt      int     `json:"attempt"`
	MaxRetries   int     `json:"max_retries"`
	RetryDelayMS float64 `json:"retry_delay_ms"`
	ErrorStatus  int     `json:"error_status"`
	Error        string  `json:"error"`
}

// C is []wireBlock for the fast pass, blockList for the careful one.
type assistantWire[C any] struct {
	Message struct {
		ID         string `json:"id"`
		Model      string `json:"model"`
		Content    C      `json:"content"`
		StopReason string `json:"stop_reason"`
		Usage      Usage  `json:"usage"`
	} `json:"message"`
	Error           string `json:"error"`
	SessionID       string `json:"session_id"`
	UUID            string `json:"uuid"`
	ParentToolUseID string `json:"parent_tool_use_id"`
}

type userWire[C any] struct {
	Message struct {
		Content C `json:"content"`
	} `json:"message"`
	SessionID       string          `json:"session_id"`
	UUID            string          `json:"uuid"`
	ParentToolUseID string          `json:"parent_tool_use_id"`
	ToolUseResult   json.RawMessage `json:"tool_use_result"`
}

type resultWire struct {
	Subtype          string                `json:"subtype"`
	IsError          bool                  `json:"is_error"`
	APIErrorStatus   int                   `json:"api_error_status"`
	DurationMS       float64               `json:"duration_ms"`
	DurationAPIMS    float64               `json:"duration_api_ms"`
	NumTurns         int                   `json:"num_turns"`
	Result           string                `json:"result"`
	SessionID        string                `json:"session_id"`
	UUID             string                `json:"uuid"`
	TotalCostUSD     json.RawMessage       `json:"total_cost_usd"` // see usdAmount
	Usage            Usage                 `json:"usage"`
	ModelUsage       map[string]ModelUsage `json:"modelUsage"`
	StopReason       string                `json:"stop_reason"`
	TerminalReason   string                `json:"terminal_reason"`
	StructuredOutput json.RawMessage       `json:"structured_output"`
}

type rateLimitWire struct {
	Info struct {
		Status                string  `json:"status"`
		ResetsAt              float64 `json:"resetsAt"`
		RateLimitType         string  `json:"rateLimitType"`
		Utilization           float64 `json:"utilization"`
		OverageStatus         string  `json:"overageStatus"`
		OverageResetsAt       float64 `json:"overageResetsAt"`
		OverageDisabledReason string  `json:"overageDisabledReason"`
	} `json:"rate_limit_info"`
	SessionID string `json:"session_id"`
	UUID      string `json:"uuid"`
}

type streamEventWire struct {
	Event           json.RawMessage `json:"event"`
	SessionID       string          `json:"session_id"`
	UUID            string          `json:"uuid"`
	ParentToolUseID string          `json:"parent_tool_use_id"`
}

// usdAmount reads a cost: a JSON number that is finite and not negative.
// Anything else (missing, null, a string, 1e999, -1) is an unknown cost.
func usdAmount(raw json.RawMessage) (usd float64, ok bool) {
	var f float64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || bytes.Equal(raw, []byte("null")) {
		return 0, false
	}
	return f, true
}

// saturatedInt64 converts f to int64 without the undefined conversion of
// an out-of-range float: not above zero gives 0, beyond int64 its maximum.
func saturatedInt64(f float64) int64 {
	switch {
	case !(f > 0):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(f)
}

// unixSeconds converts the CLI's Unix time in seconds; 0 gives the zero
// time.
func unixSeconds(s float64) time.Time {
	if s <= 0 || s > math.MaxInt64/2/1e9 {
		return time.Time{}
	}
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

func decodeError(line []byte, err error) *DecodeError {
	return &DecodeError{Excerpt: excerpt(line, excerptLen), Err: err}
}

// topLevelType returns the string value of the "type" key of the JSON object
// in line, scanning only as far as that key. ok is false when a cheap scan
// cannot tell (no such key, an escaped key or value, malformed input); the
// caller then asks encoding/json. The line is not validated here.
func topLevelType(line []byte) (typ string, ok bool) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return "", false
	}
	i++
	depth, wantKey := 1, true
	for i < len(line) {
		switch c := line[i]; c {
		case '"':
			end := stringEnd(line, i)
			if end < 0 {
				return "", false
			}
			if depth != 1 || !wantKey {
				i = end
				continue
			}
			key := line[i+1 : end-1]
			j := skipSpace(line, end)
			if j >= len(line) || line[j] != ':' {
				return "", false
			}
			j = skipSpace(line, j+1)
			if string(key) == "type" {
				if j >= len(line) || line[j] != '"' {
					return "", false
				}
				vend := stringEnd(line, j)
				if vend < 0 {
					return "", false
				}
				v := line[j+1 : vend-1]
				if bytes.IndexByte(v, '\\') >= 0 {
					return "", false
				}
				return string(v), true
			}
			wantKey = false
			i = j
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			if depth <= 0 {
				return "", false
			}
			i++
		case ',':
			if depth == 1 {
				wantKey = true
			}
			i++
		default:
			i++
		}
	}
	return "", false
}

// stringEnd returns the index just after the closing quote of the JSON
// string starting at line[i] == '"', or -1 when it is not terminated.
func stringEnd(line []byte, i int) int {
	for j := i + 1; j < len(line); {
		k := bytes.IndexAny(line[j:], `"\`)
		if k < 0 {
			return -1
		}
		j += k
		if line[j] == '"' {
			return j + 1
		}
		j += 2 // skip the escaped byte
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}
