package breaker

import "strconv"

// Outcome is what a caller reports about a call it was permitted to make.
// The zero value is Success.
type Outcome int

// The outcomes of a call.
const (
	// Success counts towards closing the circuit and resets the run of
	// consecutive failures.
	Success Outcome = iota
	// Failure counts towards opening the circuit.
	Failure
	// Ignored counts neither way; it only gives back the permit (and so
	// frees a half-open probe slot). Use it when the call said nothing about
	// the backend's health, such as when the caller cancelled it.
	Ignored
)

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}
