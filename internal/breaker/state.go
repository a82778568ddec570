package breaker

import "strconv"

// State is the state of the circuit. The zero value is StateClosed.
type State int

// The states of the circuit.
const (
	// StateClosed lets every call through and counts failures.
	StateClosed State = iota
	// StateOpen refuses every call until its open time has passed.
	StateOpen
	// StateHalfOpen lets a few probe calls through to see whether the
	// backend has recovered.
	StateHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}
