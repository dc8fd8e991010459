package mesh

import (
	"math"
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

// Timer is a pending AfterFunc call. *time.Timer is one.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
	// Reset schedules the call d from now, whether or not it is still
	// pending or has run; it reports whether it was pending. A call already
	// on its way may still run once more (as with time.Timer).
	Reset(d time.Duration) bool
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
	mu       sync.Mutex
	now      time.Time
	nowNanos int64 // now in Unix nanoseconds
	seq      uint64
	events   eventQueue
	fired    uint64
}

var _ Clock = (*VirtualClock)(nil)

// NewVirtualClock returns a virtual clock reading start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start, nowNanos: start.UnixNano()}
}

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
	ev := &vevent{f: f, clock: c, index: -1}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(ev, c.now.Add(d).UnixNano())
	return ev
}

// scheduleLocked queues ev (not pending) at Unix nanoseconds at.
func (c *VirtualClock) scheduleLocked(ev *vevent, at int64) {
	c.seq++
	ev.at, ev.seq = at, c.seq
	c.events.push(ev)
}

// schedule queues a caller-owned event that is not pending at Unix
// nanoseconds at (not before now). MemNetwork uses it to deliver frames
// without allocating an event for each.
func (c *VirtualClock) schedule(ev *vevent, at int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(ev, max(at, c.now.UnixNano()))
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
	if c.events.Len() == 0 || c.events[0].at > satNanos(limit) {
		c.mu.Unlock()
		return false
	}
	ev := c.events.pop()
	if ev.at > c.nowNanos {
		c.now = time.Unix(0, ev.at).In(c.now.Location())
		c.nowNanos = ev.at
	}
	c.fired++
	c.mu.Unlock()
	if ev.fire != nil {
		ev.fire.fire()
	} else {
		ev.f()
	}
	return true
}

// RunUntil runs every callback due at or before t, in order, then sets the
// clock to t (if t is later than now).
func (c *VirtualClock) RunUntil(t time.Time) {
	for c.step(t) {
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now, c.nowNanos = t, t.UnixNano()
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
	at    int64 // Unix nanoseconds
	seq   uint64
	f     func()
	fire  firer // called instead of f when set (events owned by MemNetwork)
	index int   // in the heap; -1 once popped or stopped
	clock *VirtualClock
}

// firer is what a caller-owned event runs.
type firer interface{ fire() }

// Stop implements Timer.
func (e *vevent) Stop() bool {
	c := e.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.index < 0 {
		return false
	}
	c.events.remove(e.index)
	return true
}

// Reset implements Timer.
func (e *vevent) Reset(d time.Duration) bool {
	c := e.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	pending := e.index >= 0
	if pending {
		c.events.remove(e.index)
	}
	c.scheduleLocked(e, c.now.Add(max(d, 0)).UnixNano())
	return pending
}

// eventQueue is a 4-ary min-heap of events by (at, seq): the simulator
// pushes and pops millions of them, so it avoids container/heap's
// interface calls and compares integers only.
type eventQueue []*vevent

func (q eventQueue) Len() int { return len(q) }

func (q eventQueue) less(i, j int) bool {
	a, b := q[i], q[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (q eventQueue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *eventQueue) push(e *vevent) {
	e.index = len(*q)
	*q = append(*q, e)
	q.up(e.index)
}

// pop removes and returns the earliest event.
func (q *eventQueue) pop() *vevent {
	return q.remove(0)
}

func (q *eventQueue) remove(i int) *vevent {
	h := *q
	n := len(h) - 1
	e := h[i]
	if i != n {
		h.swap(i, n)
	}
	h[n] = nil
	*q = h[:n]
	if i != n {
		if !q.down(i) {
			q.up(i)
		}
	}
	e.index = -1
	return e
}

func (q eventQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 4
		if !q.less(i, p) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

// down sifts i towards the leaves; it reports whether i moved.
func (q eventQueue) down(i int) bool {
	start := i
	n := len(q)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if q.less(k, best) {
				best = k
			}
		}
		if !q.less(best, i) {
			break
		}
		q.swap(i, best)
		i = best
	}
	return i > start
}

// satNanos is t in Unix nanoseconds, saturated to the int64 range (for the
// "run everything" limit of Run).
func satNanos(t time.Time) int64 {
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	if t.Before(time.Unix(0, math.MinInt64)) {
		return math.MinInt64
	}
	return t.UnixNano()
}
