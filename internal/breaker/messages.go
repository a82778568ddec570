package breaker

// request is a message to the actor that expects a reply. The set is closed:
// one struct per kind, each with a reply channel of buffer 1 so the actor
// never blocks on a caller that gave up.
type request interface{ isRequest() }

// allowReq asks for a permit (Allow) or whether one would be granted (Check).
// It is pooled; it goes back to the pool only after its reply was received.
type allowReq struct {
	check bool
	rep   allowReply // the answer, kept until the step is published
	reply chan allowReply
}

type allowReply struct {
	permit Permit
	err    error
}

// statsReq asks for Stats (State reads it too).
type statsReq struct {
	stats Stats
	reply chan Stats
}

// controlReq is ForceOpen or Reset.
type controlReq struct {
	open  bool // ForceOpen; else Reset
	reply chan struct{}
}

// subscribeReq registers s; the reply says whether the actor took it.
type subscribeReq struct {
	s     *subscriber
	reply chan bool
}

// unsubscribeReq removes s.
type unsubscribeReq struct {
	s     *subscriber
	reply chan struct{}
}

func (*allowReq) isRequest()       {}
func (*statsReq) isRequest()       {}
func (*controlReq) isRequest()     {}
func (*subscribeReq) isRequest()   {}
func (*unsubscribeReq) isRequest() {}

// report is the outcome of a call; it needs no reply.
type report struct {
	permit  Permit
	outcome Outcome
}

// mayChange reports whether r may change the state: a failure, or any
// outcome of a half-open probe. The other reports (success or ignored of a
// permit granted while closed) never do.
func (r report) mayChange() bool {
	return r.outcome == Failure || r.permit.probe != 0
}
