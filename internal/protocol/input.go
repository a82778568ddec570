package protocol

import "encoding/json"

// userTurn is a user message as the CLI reads it on stdin with
// --input-format stream-json.
type userTurn struct {
	Type    string `json:"type"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
}

// UserTurn returns the stream-json line, newline included, that gives the
// CLI prompt as a user turn: {"type":"user","message":{"role":"user","content":prompt}}.
func UserTurn(prompt string) []byte {
	t := userTurn{Type: TypeUser}
	t.Message.Role, t.Message.Content = "user", prompt
	b, err := json.Marshal(t)
	if err != nil {
		panic("protocol: a user turn always marshals: " + err.Error())
	}
	return append(b, '\n')
}
