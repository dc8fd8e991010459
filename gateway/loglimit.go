package gateway

import (
	"sync"
	"time"
)

// logEvery is how often a warning anyone can provoke at no cost (a wrong
// dashboard token refused at once) is logged at most.
const logEvery = time.Minute

// logLimit spaces out one kind of warning. The zero value allows the first
// one. Safe for concurrent use.
type logLimit struct {
	mu         sync.Mutex
	next       time.Time
	suppressed uint64
}

// allow reports whether the warning may be logged now, and how many were
// held back since the last one that was.
func (l *logLimit) allow(now time.Time) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.next, l.suppressed = now.Add(logEvery), 0
	return true, n
}
