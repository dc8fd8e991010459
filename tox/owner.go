package tox

import (
	"runtime"
	"strconv"
	"strings"
)

// goid returns the calling goroutine's ID, read from the first line of
// its stack trace ("goroutine 42 [running]:"). Go offers no API for it, on
// purpose; the binding uses it only to tell its owner goroutine from the
// rest in Do and Close, which the owner must not wait in (it would wait
// for itself). It costs about a microsecond, which those calls can afford.
func goid() uint64 {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s, _ = strings.CutPrefix(s, "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0 // never the owner's: the loop's ID is read the same way
	}
	return id
}

// onOwner reports whether the caller runs on t's owner goroutine: inside a
// callback, a hook or a function given to Do.
func (t *Tox) onOwner() bool {
	o := t.owner.Load()
	return o != 0 && o == goid()
}

// ownerError is Do's error when called from the owner goroutine.
func ownerError(op string) error {
	return &Error{Op: op, Code: codeGo, Name: "OWNER", kind: ErrInvalid,
		detail: "called from a callback or hook, on the goroutine that runs them; it would wait for itself: " +
			"use the Core the callback or hook was given"}
}
