// Package loglimit spaces out a warning that anyone can provoke at will and
// at no cost (a friend replaying a forged ack, a wrong dashboard token
// refused at once), so that it cannot fill the log; the counters beside it
// still count every one.
package loglimit

import (
	"sync"
	"time"
)

// Every is how often one kind of warning is logged at most.
const Every = time.Minute

// Limit spaces out one kind of warning. The zero value allows the first
// one. Safe for concurrent use.
type Limit struct {
	mu         sync.Mutex
	next       time.Time
	suppressed uint64
}

// Allow reports whether the warning may be logged now, and how many were
// held back since the last one that was.
func (l *Limit) Allow(now time.Time) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.next, l.suppressed = now.Add(Every), 0
	return true, n
}
