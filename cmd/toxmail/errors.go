package main

import (
	"errors"
	"fmt"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command could not do its job
	exitUsage   = 2 // the command line is wrong
)

// cliError is a failure with its exit status and the one line printed
// after "toxmail CMD: ": the reason, then what to do.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// errHelp means --help was asked for and the usage has been printed.
var errHelp = errors.New("help shown")

// usagef is a usage error (exit 2).
func usagef(format string, args ...any) error {
	return &cliError{code: exitUsage, msg: oneLine(fmt.Sprintf(format, args...))}
}

// failf is a failure (exit 1).
func failf(format string, args ...any) error {
	return &cliError{code: exitFailure, msg: oneLine(fmt.Sprintf(format, args...))}
}

// fail is a failure (exit 1) reported from err, followed by what to do
// when hint is not empty.
func fail(err error, hint string) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	msg := clean(err)
	if hint != "" {
		msg += "; " + hint
	}
	return &cliError{code: exitFailure, msg: msg}
}

// packagePrefixes are the prefixes the packages put on their errors; the
// CLI line already says which command failed, so they go.
var packagePrefixes = []string{"config: ", "daemon: ", "gateway: ", "sim: ", "tox: ", "demo: "}

// clean returns err's text on one line without the leading package
// prefixes.
func clean(err error) string {
	s := oneLine(err.Error())
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range packagePrefixes {
			if rest, ok := strings.CutPrefix(s, p); ok {
				s, trimmed = rest, true
			}
		}
	}
	return s
}

// oneLine joins the lines of s with "; " (several config errors come one
// per line) and drops control characters.
func oneLine(s string) string {
	var parts []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	s = strings.Join(parts, "; ")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// exitCode maps a command's error to the line printed and the exit status.
func exitCode(err error) (msg string, code int) {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.msg, ce.code
	}
	return clean(err), exitFailure
}
