package tox

import (
	"sync"

	"github.com/toxmail/toxmail/mesh"
)

type eventKind uint8

const (
	evFrame eventKind = iota + 1
	evOnline
	evText
	evRequest       // a pending request to report (OnRequest)
	evFriendRequest // a request to decide by policy, off the Tox goroutine
)

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
// past it, envelope bodies and texts are dropped rather than blocking Tox,
// and session frames (mesh.IsControl: hello, offer, request, ack), whose
// loss would stall a friend's session, go on into a reserve of limit bytes
// more. Connection events are always queued.
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
		if q.bytes+n > q.limit && !(ev.control() && q.bytes+n <= 2*q.limit) {
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

// control reports whether ev is a session frame that may use the reserve.
func (ev *event) control() bool {
	return ev.kind == evFrame && mesh.IsControl(ev.frame)
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

// isClosed reports whether close has run: a push refused then is not a
// drop for the limit.
func (q *eventQueue) isClosed() bool {
	select {
	case <-q.closing:
		return true
	default:
		return false
	}
}

// closedCh is closed once the queue is closed.
func (q *eventQueue) closedCh() <-chan struct{} { return q.closing }
