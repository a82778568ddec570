package orchestrator

// Closed reports whether Close has finished: no query is then in flight or
// waiting, whatever the guards' last snapshots say (taken when they
// closed, before a query whose caller was in its loop body settled).
func (o *Orchestrator) Closed() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}
