package mesh

import "time"

// warnEvery is how often a warning a friend can provoke at will (a forged
// ack, an envelope with our tag that does not open) is logged at most;
// Stats counts every one.
const warnEvery = time.Minute

// warnLimit spaces out one kind of warning: a friend replaying one forged
// ack in frames of 1,024 would otherwise write thousands of log lines a
// second. The zero value allows the first warning.
type warnLimit struct {
	next       time.Time
	suppressed uint64
}

// allow reports whether the warning may be logged now, and how many were
// held back since the last one that was.
func (w *warnLimit) allow(now time.Time) (bool, uint64) {
	if now.Before(w.next) {
		w.suppressed++
		return false, 0
	}
	n := w.suppressed
	w.next, w.suppressed = now.Add(warnEvery), 0
	return true, n
}
