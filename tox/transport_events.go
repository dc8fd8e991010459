package tox

import "sync"

type eventKind uint8

const (
	evFrame eventKind = iota + 1
	evOnline
	evText
	evRequest
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
// and the dispatch goroutine. Frames count against a byte limit; past it
// they are dropped rather than blocking Tox. Other events are small and
// always queued.
type eventQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []event
	bytes  int
	limit  int
	closed bool
}

func newEventQueue(limit int) *eventQueue {
	q := &eventQueue{limit: limit}
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
	if ev.kind == evFrame {
		if q.bytes+len(ev.frame) > q.limit {
			return false
		}
		q.bytes += len(ev.frame)
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
	if ev.kind == evFrame {
		q.bytes -= len(ev.frame)
	}
	return ev, true
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}
