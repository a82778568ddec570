package agent

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoStructuredOutput: the result carries no structured output (the
// query had no WithJSONSchema, or the model gave no such answer).
var ErrNoStructuredOutput = errors.New("agent: the result has no structured output")

// DecodeStructuredOutput decodes the structured output of res (the answer
// a query with WithJSONSchema asked for) into v, as json.Unmarshal does.
// A nil res, or one without structured output, gives an error matching
// ErrNoStructuredOutput; JSON that does not fit v gives json's error.
func DecodeStructuredOutput(res *ResultMessage, v any) error {
	if res == nil || len(res.StructuredOutput) == 0 {
		return ErrNoStructuredOutput
	}
	if err := json.Unmarshal(res.StructuredOutput, v); err != nil {
		return fmt.Errorf("agent: decode structured output: %w", err)
	}
	return nil
}
