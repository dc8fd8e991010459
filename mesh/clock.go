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
	ev := &vevent{f: f, clock: c}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(ev, c.now.Add(d).UnixNano())
	return ev
}

// scheduleLocked queues ev (not pending) at Unix nanoseconds at.
func (c *VirtualClock) scheduleLocked(ev *vevent, at int64) {
	c.seq++
	ev.at, ev.seq, ev.pending = at, c.seq, true
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
	return c.events.live
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
	ev := c.events.popUntil(satNanos(limit))
	if ev == nil {
		c.mu.Unlock()
		return false
	}
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

// Stop implements Timer.
func (e *vevent) Stop() bool {
	c := e.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if !e.pending {
		return false
	}
	c.events.cancel(e)
	return true
}

// Reset implements Timer.
func (e *vevent) Reset(d time.Duration) bool {
	c := e.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	pending := e.pending
	if pending {
		c.events.cancel(e)
	}
	c.scheduleLocked(e, c.now.Add(max(d, 0)).UnixNano())
	return pending
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
