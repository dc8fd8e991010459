package daemon

import "log/slog"

// repeatedWarning logs a problem that a poll meets again and again (a
// broken contacts file, an unreadable pin file) once, and again only when
// its error changes; when the problem clears it says so, once. Without it
// each poll, every 2 s, logged the same warning.
type repeatedWarning struct {
	last string // the error last logged; "" while all is well
}

// report logs err as a warning with msg unless it is the one logged last,
// or, when err is nil after a logged error, logs cleared at info level.
func (w *repeatedWarning) report(log *slog.Logger, msg, cleared string, err error) {
	if err == nil {
		if w.last != "" {
			w.last = ""
			log.Info(cleared)
		}
		return
	}
	if s := err.Error(); s != w.last {
		w.last = s
		log.Warn(msg+" (said again only when the error changes)", "err", err)
	}
}
