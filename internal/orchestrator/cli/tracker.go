package cli

import "sync"

// Tracker counts the CLI processes started and not yet reaped, across
// every stream given the same Tracker (Options.Tracker), so that their
// owner can wait until none is left, even those whose stream's consumer
// is busy elsewhere (a process is reaped whether or not its output has
// been read). The zero value is ready; it is safe for concurrent use.
type Tracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while 0
}

func (t *Tracker) add() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
	t.mu.Unlock()
}

func (t *Tracker) done() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// Wait returns once no tracked process is left.
func (t *Tracker) Wait() {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	if idle != nil {
		<-idle
	}
}
