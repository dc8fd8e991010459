package mesh

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the only source of time in the mesh. Its zero implementation,
// RealClock, is wall-clock time; VirtualClock runs tests and the simulator
// in simulated time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once, d from now, on a goroutine of the clock's
	// choosing. f must not assume it runs on any particular goroutine.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
}

// RealClock is wall-clock time.
type RealClock struct{}

var _ Clock = RealClock{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// VirtualClock is simulated time driven by its owner: time stands still
// until Advance, RunUntil or Run moves it, and AfterFunc callbacks run on the
// goroutine that moves it, in order of due time and then of scheduling. Two
// runs that schedule the same things therefore run them in the same order.
//
// It is safe for concurrent use, but callbacks run one at a time.
type VirtualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	events eventQueue
	fired  uint64
}

var _ Clock = (*VirtualClock)(nil)

// NewVirtualClock returns a virtual clock reading start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d (d < 0 counts as 0).
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) Timer {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	ev := &vevent{at: c.now.Add(d), seq: c.seq, f: f, clock: c}
	heap.Push(&c.events, ev)
	return ev
}

// Pending returns how many callbacks are scheduled.
func (c *VirtualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events.Len()
}

// Fired returns how many callbacks have run.
func (c *VirtualClock) Fired() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fired
}

// step runs the earliest callback due at or before limit. It reports
// whether one ran.
func (c *VirtualClock) step(limit time.Time) bool {
	c.mu.Lock()
	if c.events.Len() == 0 || c.events[0].at.After(limit) {
		c.mu.Unlock()
		return false
	}
	ev := heap.Pop(&c.events).(*vevent)
	if ev.at.After(c.now) {
		c.now = ev.at
	}
	c.fired++
	c.mu.Unlock()
	ev.f()
	return true
}

// RunUntil runs every callback due at or before t, in order, then sets the
// clock to t (if t is later than now).
func (c *VirtualClock) RunUntil(t time.Time) {
	for c.step(t) {
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Advance runs the clock forward by d.
func (c *VirtualClock) Advance(d time.Duration) { c.RunUntil(c.Now().Add(d)) }

// Run runs callbacks until none is left or max have run, and returns how
// many ran. Periodic work that always reschedules itself never runs dry, so
// bound it with max.
func (c *VirtualClock) Run(max int) int {
	far := time.Unix(1<<62, 0)
	n := 0
	for n < max && c.step(far) {
		n++
	}
	return n
}

type vevent struct {
	at    time.Time
	seq   uint64
	f     func()
	index int // in the heap; -1 once popped or stopped
	clock *VirtualClock
}

// Stop implements Timer.
func (e *vevent) Stop() bool {
	c := e.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.index < 0 {
		return false
	}
	heap.Remove(&c.events, e.index)
	return true
}

type eventQueue []*vevent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *eventQueue) Push(x any) {
	e := x.(*vevent)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
