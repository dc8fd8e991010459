package mesh

// vevent is a callback scheduled on a VirtualClock; it is its own Timer.
type vevent struct {
	at      int64  // Unix nanoseconds it is due
	seq     uint64 // the clock's count when it was last scheduled
	pending bool   // scheduled, and neither run nor stopped since
	f       func()
	fire    firer // called instead of f when set (events owned by MemNetwork)
	clock   *VirtualClock
}

// firer is what a caller-owned event runs.
type firer interface{ fire() }

// qentry is one scheduling of an event. It carries a copy of the event's
// key, so ordering the queue never reads the events themselves (a
// simulator's events are spread over gigabytes). An entry whose event was
// stopped or scheduled again since (the seq no longer matches) is stale: it
// is dropped when it reaches the top, or when stale entries outnumber live
// ones.
type qentry struct {
	at  int64
	seq uint64
	ev  *vevent
}

func (a *qentry) before(b *qentry) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (a *qentry) live() bool { return a.ev.pending && a.ev.seq == a.seq }

// eventQueue is a 4-ary min-heap of events by (at, seq), which the
// simulator pushes and pops hundreds of millions of times. Cancelling is
// lazy: it only marks the event, so neither Stop nor Reset sifts.
type eventQueue struct {
	h    []qentry
	live int // entries that are not stale
}

// minCompact is how many stale entries the queue tolerates before it
// considers compacting.
const minCompact = 4096

// push queues ev, which is pending with a fresh seq.
func (q *eventQueue) push(ev *vevent) {
	q.h = append(q.h, qentry{at: ev.at, seq: ev.seq, ev: ev})
	q.live++
	q.up(len(q.h) - 1)
}

// cancel unschedules the pending event ev; its entry goes stale.
func (q *eventQueue) cancel(ev *vevent) {
	ev.pending = false
	q.live--
	if stale := len(q.h) - q.live; stale > minCompact && stale > q.live {
		q.compact()
	}
}

// popUntil removes and returns the earliest live event due at or before
// limit, or nil if there is none.
func (q *eventQueue) popUntil(limit int64) *vevent {
	for len(q.h) > 0 && q.h[0].at <= limit {
		top := q.h[0]
		q.removeTop()
		if top.live() {
			top.ev.pending = false
			q.live--
			return top.ev
		}
	}
	return nil
}

func (q *eventQueue) removeTop() {
	n := len(q.h) - 1
	last := q.h[n]
	q.h[n] = qentry{}
	q.h = q.h[:n]
	if n > 0 {
		q.h[0] = last
		q.down(0)
	}
}

// compact drops the stale entries and restores the heap order. The order
// of the live events is their (at, seq), so it is the same as before.
func (q *eventQueue) compact() {
	kept := q.h[:0]
	for _, e := range q.h {
		if e.live() {
			kept = append(kept, e)
		}
	}
	clear(q.h[len(kept):])
	q.h = kept
	for i := (len(kept) - 2) / 4; i >= 0; i-- {
		q.down(i)
	}
}

func (q *eventQueue) up(i int) {
	h := q.h
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

func (q *eventQueue) down(i int) {
	h := q.h
	n := len(h)
	e := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		for k := c + 1; k < min(c+4, n); k++ {
			if h[k].before(&h[best]) {
				best = k
			}
		}
		if !h[best].before(&e) {
			break
		}
		h[i] = h[best]
		i = best
	}
	h[i] = e
}
