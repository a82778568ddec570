package protocol

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUserTurn(t *testing.T) {
	line := UserTurn("hi \"there\"\nnext line")
	require.Equal(t, byte('\n'), line[len(line)-1], "one line, newline-terminated")
	assert.NotContains(t, string(line[:len(line)-1]), "\n", "the prompt's newline is escaped")
	var got struct {
		Type    string `json:"type"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
	}
	require.NoError(t, json.Unmarshal(line, &got))
	assert.Equal(t, "user", got.Type)
	assert.Equal(t, "user", got.Message.Role)
	assert.Equal(t, "hi \"there\"\nnext line", got.Message.Content)
}
