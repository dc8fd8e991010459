package mesh

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// clockModel is what a VirtualClock must do, kept the slow and obvious way:
// every pending timer with its due time and scheduling order.
type clockModel struct {
	now     int64
	seq     uint64
	pending map[int]modelTimer // by timer number
}

type modelTimer struct {
	at  int64
	seq uint64
}

func (m *clockModel) schedule(i int, d time.Duration) {
	m.seq++
	m.pending[i] = modelTimer{m.now + int64(max(d, 0)), m.seq}
}

// advance returns the timers due by now+d in the order they must fire.
func (m *clockModel) advance(d time.Duration) []int {
	limit := m.now + int64(d)
	var due []int
	for i, t := range m.pending {
		if t.at <= limit {
			due = append(due, i)
		}
	}
	slices.SortFunc(due, func(a, b int) int {
		ta, tb := m.pending[a], m.pending[b]
		return cmp.Or(cmp.Compare(ta.at, tb.at), cmp.Compare(ta.seq, tb.seq))
	})
	for _, i := range due {
		delete(m.pending, i)
	}
	m.now = limit
	return due
}

// TestVirtualClockModel runs random schedules, stops, resets and advances
// against the model: the callbacks fire in the same order, Stop and Reset
// report the same, and Pending counts the same.
func TestVirtualClockModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := NewVirtualClock(epoch2030)
		m := &clockModel{now: epoch2030.UnixNano(), pending: map[int]modelTimer{}}
		var timers []Timer
		var fired []int
		delay := rapid.Map(rapid.Int64Range(-5, 40), func(v int64) time.Duration { return time.Duration(v) * time.Millisecond })
		for step := range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch op := rapid.IntRange(0, 3).Draw(t, "op"); {
			case op == 0 || len(timers) == 0:
				i, d := len(timers), delay.Draw(t, "d")
				timers = append(timers, c.AfterFunc(d, func() { fired = append(fired, i) }))
				m.schedule(i, d)
			case op == 1:
				i := rapid.IntRange(0, len(timers)-1).Draw(t, "stop")
				_, want := m.pending[i]
				delete(m.pending, i)
				if got := timers[i].Stop(); got != want {
					t.Fatalf("step %d: Stop(%d) = %v, want %v", step, i, got, want)
				}
			case op == 2:
				i, d := rapid.IntRange(0, len(timers)-1).Draw(t, "reset"), delay.Draw(t, "d")
				_, want := m.pending[i]
				m.schedule(i, d)
				if got := timers[i].Reset(d); got != want {
					t.Fatalf("step %d: Reset(%d) = %v, want %v", step, i, got, want)
				}
			default:
				d := delay.Draw(t, "advance")
				want := m.advance(max(d, 0))
				fired = fired[:0]
				c.Advance(max(d, 0))
				if !slices.Equal(fired, want) {
					t.Fatalf("step %d: fired %v, want %v", step, fired, want)
				}
			}
			if got, want := c.Pending(), len(m.pending); got != want {
				t.Fatalf("step %d: Pending() = %d, want %d", step, got, want)
			}
		}
	})
}

// TestEventQueueCompacts cancels most of a large queue, which makes it drop
// its stale entries, and checks the rest still fire in order.
func TestEventQueueCompacts(t *testing.T) {
	c := NewVirtualClock(epoch2030)
	m := &clockModel{now: epoch2030.UnixNano(), pending: map[int]modelTimer{}}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4 * minCompact
	var fired []int
	timers := make([]Timer, n)
	for i := range n {
		d := time.Duration(r.IntN(1000)) * time.Millisecond
		timers[i] = c.AfterFunc(d, func() { fired = append(fired, i) })
		m.schedule(i, d)
	}
	for i := range n {
		switch i % 4 {
		case 0, 1:
			timers[i].Stop()
			delete(m.pending, i)
		case 2:
			d := time.Duration(r.IntN(1000)) * time.Millisecond
			timers[i].Reset(d)
			m.schedule(i, d)
		}
	}
	if got := len(c.events.h); got >= n {
		t.Fatalf("queue holds %d entries for %d pending events: it never compacted", got, c.Pending())
	}
	want := m.advance(time.Second)
	c.Advance(time.Second)
	if len(want) != n/2 || !slices.Equal(fired, want) {
		t.Fatalf("fired %d events (want %d) or in the wrong order", len(fired), len(want))
	}
	if c.Pending() != 0 || len(c.events.h) != 0 {
		t.Fatalf("queue left with %d pending, %d entries", c.Pending(), len(c.events.h))
	}
}
