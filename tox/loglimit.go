package tox

import (
	"sync"
	"time"
)

// What one source line of libtoxcore may log: at most logBurst lines per
// logWindow. libtoxcore logs some conditions on every packet (a busy link
// gives ~850 "congestion control" lines a second), which would bury a
// debug log; the first lines of each window show the condition, and the
// count of those left out follows with the next line from that source.
const (
	logBurst   = 20
	logWindow  = 10 * time.Second
	logSources = 1024 // sources tracked; past that, the quiet ones are forgotten
)

// logLimiter counts libtoxcore's log lines by source. The zero value is
// ready; it is safe for concurrent use.
type logLimiter struct {
	mu      sync.Mutex
	sources map[string]*logSource
	now     func() time.Time // nil: time.Now
}

type logSource struct {
	start      time.Time // of the current window
	n          int       // lines logged in it
	suppressed int       // lines left out of it
}

// allow reports whether a line from src may be logged now, and how many
// lines from src were left out of the window that has just ended (to be
// reported before it).
func (l *logLimiter) allow(src string) (ok bool, leftOut int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	s := l.sources[src]
	if s == nil {
		if l.sources == nil {
			l.sources = make(map[string]*logSource)
		}
		if len(l.sources) >= logSources {
			for k, old := range l.sources {
				if now.Sub(old.start) >= logWindow {
					delete(l.sources, k)
				}
			}
			if len(l.sources) >= logSources {
				clear(l.sources)
			}
		}
		s = &logSource{start: now}
		l.sources[src] = s
	}
	if now.Sub(s.start) >= logWindow {
		leftOut = s.suppressed
		*s = logSource{start: now}
	}
	if s.n >= logBurst {
		s.suppressed++
		return false, leftOut
	}
	s.n++
	return true, leftOut
}
