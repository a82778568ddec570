package orchestrator

// Closed reports whether Close has finished: every query has then settled,
// and none is in flight or waiting, whatever the guards' last snapshots
// (taken when they closed, before the queries settled) say.
func (o *Orchestrator) Closed() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}
