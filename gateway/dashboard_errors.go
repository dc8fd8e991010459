package gateway

// How the dashboard words a backend's errors: one line, in plain words,
// with what the user typed shortened.

import (
	"context"
	"errors"
	"strings"
)

// Lengths that user input is shortened to when a message repeats it.
const (
	dashEchoName  = 64  // a name or key in "Could not add NAME: ..."
	dashEchoField = 256 // a form field refilled after a failed add
	dashErrorLen  = 300 // a whole error line
)

// errorLine is the one line the dashboard and the API show for a backend
// error: a *ResolveError's Summary (no chain of DNS and socket errors),
// otherwise the error's text without package prefixes, shortened.
func errorLine(err error) string {
	var re *ResolveError
	switch {
	case errors.As(err, &re):
		return re.Summary()
	case errors.Is(err, context.DeadlineExceeded):
		return "the node took too long to answer; try again"
	}
	msg := err.Error()
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range []string{"gateway: ", "daemon: ", "tox: ", "config: "} {
			if rest, ok := strings.CutPrefix(msg, p); ok {
				msg, trimmed = rest, true
			}
		}
	}
	return clipInput(msg, dashErrorLen)
}
