package tox

import "sync"

type eventKind uint8

const (
	evFrame eventKind = iota + 1
	evOnline
	evText
	evRequest       // a pending request to report (OnRequest)
	evFriendRequest // a request to decide by policy, off the Tox goroutine
)

// smallFrame is the size below which a frame is never dropped for the
// inbound limit: hellos, offers, requests and acks are small, and losing
// one would stall a friend's session. Only envelope bodies, which the
// mesh asks for again, may be dropped.
const smallFrame = 64 << 10

// event is one thing for the dispatch goroutine to hand on.
type event struct {
	kind   eventKind
	pk     PublicKey
	frame  []byte
	online bool
	name   string
	text   string
	req    Request
}

// eventQueue is a FIFO between the Tox goroutine (which must never block)
// and the dispatch goroutine. Frames and texts count against a byte limit;
// past it, large frames and texts are dropped rather than blocking Tox.
// Small frames and connection events are always queued.
type eventQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	closing chan struct{} // closed by close
	items   []event
	bytes   int
	limit   int
	closed  bool
}

func newEventQueue(limit int) *eventQueue {
	q := &eventQueue{limit: limit, closing: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push appends ev; it reports false if a frame was dropped for the limit.
func (q *eventQueue) push(ev event) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if n := ev.size(); n > 0 {
		if q.bytes+n > q.limit && (ev.kind != evFrame || n >= smallFrame) {
			return false
		}
		q.bytes += n
	}
	q.items = append(q.items, ev)
	q.cond.Signal()
	return true
}

// pop waits for the next event; it reports false once closed and drained.
func (q *eventQueue) pop() (event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return event{}, false
	}
	ev := q.items[0]
	q.items[0] = event{}
	q.items = q.items[1:]
	q.bytes -= ev.size()
	return ev, true
}

// size is what an event counts against the byte limit.
func (ev *event) size() int {
	switch ev.kind {
	case evFrame:
		return len(ev.frame)
	case evText, evFriendRequest:
		return len(ev.text) + len(ev.name)
	}
	return 0
}

func (q *eventQueue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.closing)
	}
	q.cond.Broadcast()
	q.mu.Unlock()
}

// closedCh is closed once the queue is closed.
func (q *eventQueue) closedCh() <-chan struct{} { return q.closing }
