package orchestrator

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/orchestrator/cli"
	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/protocol"
)

func decoded(t *testing.T, line string) protocol.Message {
	t.Helper()
	m, err := protocol.Decode([]byte(line))
	require.NoError(t, err)
	return m
}

// The lines the CLI 2.1.197 prints for each authentication failure (seen
// against internal/fakeapi) end the query with ErrAuthentication and say
// what to set; other lines are no signal.
func TestCallerFault(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       error  // nil: no signal
		text       string // in the error
		status     int    // of the *APIError it wraps, -1 when none
	}{
		{"401 retry", `{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":573.6,"error_status":401,"error":"authentication_failed"}`,
			ErrAuthentication, "set a valid ANTHROPIC_API_KEY", -1},
		{"403 retry", `{"type":"system","subtype":"api_retry","attempt":1,"retry_delay_ms":500,"error_status":403,"error":"unknown"}`,
			ErrAuthentication, "(403)", -1},
		{"auth kind without status", `{"type":"system","subtype":"api_retry","attempt":1,"retry_delay_ms":500,"error_status":null,"error":"authentication_failed"}`,
			ErrAuthentication, "set ANTHROPIC_API_KEY", -1},
		{"not logged in", `{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"result":"Not logged in · Please run /login","total_cost_usd":0}`,
			ErrAuthentication, "set ANTHROPIC_API_KEY (in the environment or with WithEnv), or log in with `claude /login`: Not logged in", 0},
		{"401 result", `{"type":"result","subtype":"success","is_error":true,"api_error_status":401,"result":"Invalid API key · Fix external API key","total_cost_usd":0}`,
			ErrAuthentication, "Invalid API key", 401},
		{"403 result", `{"type":"result","subtype":"success","is_error":true,"api_error_status":403,"result":"Failed to authenticate. API Error: 403 no access","total_cost_usd":0}`,
			ErrAuthentication, "(403)", 403},
		{"404 result", `{"type":"result","subtype":"success","is_error":true,"api_error_status":404,"result":"There's an issue with the selected model (x).","total_cost_usd":0}`,
			ErrInvalidRequest, `agent: invalid request: WithModel: the API does not know model "x"`, 404},
		{"429 retry", `{"type":"system","subtype":"api_retry","attempt":1,"retry_delay_ms":7000,"error_status":429,"error":"rate_limit"}`, nil, "", 0},
		{"529 result", `{"type":"result","subtype":"success","is_error":true,"api_error_status":529,"result":"API Error: 529 Overloaded","total_cost_usd":0}`, nil, "", 0},
		{"good result", `{"type":"result","subtype":"success","is_error":false,"result":"Not logged in is my answer","total_cost_usd":0}`, nil, "", 0},
		{"assistant", `{"type":"assistant","message":{"content":[{"type":"text","text":"Not logged in"}]}}`, nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callerFault(decoded(t, tc.line), &cli.Request{Model: "x"})
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.text)
			var apiErr *protocol.APIError
			if tc.status < 0 {
				assert.False(t, errors.As(err, &apiErr))
			} else {
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.status, apiErr.Status)
			}
		})
	}
}

func decodeOrNil(line string) (protocol.Message, error) {
	return protocol.Decode([]byte(line))
}
