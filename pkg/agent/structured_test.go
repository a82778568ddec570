package agent_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
	"github.com/c0c8c5bf/claude-agent-sdk-go/pkg/agent"
)

// person is the structured answer the tests ask for.
type person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

var personSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"name": map[string]any{"type": "string"}, "age": map[string]any{"type": "integer"}},
	"required":   []string{"name", "age"},
}

// With WithJSONSchema the real CLI offers the model a StructuredOutput
// tool with the schema as its input schema; the model's call of it ends
// the run, and the result's structured_output decodes into a struct.
func TestIntegrationStructuredOutput(t *testing.T) {
	t.Parallel()
	c := realClient(t, nil)
	srv := fakeapi.New(t, fakeapi.ToolCall("StructuredOutput", person{Name: "Ada", Age: 36}))

	res, err := c.Run(queryCtx(t), "who wrote the first program?", apiOpts(t, srv, 0, agent.WithJSONSchema(personSchema))...)
	require.NoError(t, err)
	var p person
	require.NoError(t, agent.DecodeStructuredOutput(res, &p))
	assert.Equal(t, person{Name: "Ada", Age: 36}, p)

	msgs := srv.Messages()
	require.NotEmpty(t, msgs)
	assert.Contains(t, string(msgs[0].Body), `"name":"StructuredOutput"`, "the CLI offered the tool")

	// A query without a schema has no structured output.
	srv.Enqueue(fakeapi.Text("plain"))
	res, err = c.Run(queryCtx(t), "hi", apiOpts(t, srv, 0)...)
	require.NoError(t, err)
	assert.ErrorIs(t, agent.DecodeStructuredOutput(res, &p), agent.ErrNoStructuredOutput)
}

func TestDecodeStructuredOutput(t *testing.T) {
	var p person
	assert.ErrorIs(t, agent.DecodeStructuredOutput(nil, &p), agent.ErrNoStructuredOutput)
	assert.ErrorIs(t, agent.DecodeStructuredOutput(&agent.ResultMessage{}, &p), agent.ErrNoStructuredOutput)
	err := agent.DecodeStructuredOutput(&agent.ResultMessage{StructuredOutput: []byte(`{"name":7}`)}, &p)
	assert.ErrorContains(t, err, "agent: decode structured output:")
	require.NoError(t, agent.DecodeStructuredOutput(&agent.ResultMessage{StructuredOutput: []byte(`{"name":"Ada","age":36}`)}, &p))
	assert.Equal(t, person{Name: "Ada", Age: 36}, p)
}
