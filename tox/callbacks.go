package tox

/*
#cgo pkg-config: toxcore
#include "bridge.h"
*/
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

// Callbacks receive libtoxcore's events. Each runs on the owner goroutine,
// inside tox_iterate, with its arguments already copied into Go memory.
//
// A callback must return quickly and must not block: while it runs, the
// instance neither sends nor receives. The synchronous methods of *Tox (Do
// and the wrappers around it) wait for the owner goroutine, which is busy
// running the callback, so from a callback they run nothing and return an
// error matching ErrInvalid; Close returns at once and the instance closes
// when the callback returns. Enqueue work for another goroutine, or do it
// in the iterate hook, which gets a *Core. A panic in a callback is
// recovered so that it does not unwind through libtoxcore, then re-raised
// once tox_iterate has returned: it ends the program.
//
// Nil fields are ignored. Friends are identified by number (valid until
// DeleteFriend) and by public key (stable across restarts).
type Callbacks struct {
	// SelfConnection reports a change of our connection to the DHT. It
	// flaps briefly at times; do not react to every None.
	SelfConnection func(c Connection)
	// FriendRequest reports a friend request: the sender's public key and
	// message (as received; not validated as UTF-8). Accept it with
	// AddFriendNoRequest.
	FriendRequest func(pk PublicKey, message string)
	// FriendConnection reports a friend going online (TCP or UDP) or
	// offline (None).
	FriendConnection func(fn uint32, pk PublicKey, c Connection)
	// FriendMessage reports a text message (not validated as UTF-8).
	FriendMessage func(fn uint32, pk PublicKey, typ MessageType, text string)
	// FriendLossless reports a lossless custom packet; data[0] is its
	// packet ID. The callback owns data.
	FriendLossless func(fn uint32, pk PublicKey, data []byte)
	// FriendName reports a friend's new nickname.
	FriendName func(fn uint32, pk PublicKey, name string)
	// FriendReadReceipt reports that the friend's Tox instance received
	// the text message SendMessage numbered id. libtoxcore sends the
	// receipt itself on arrival, whatever the client; it sends none for a
	// message lost with its connection.
	FriendReadReceipt func(fn uint32, pk PublicKey, id uint32)
}

// fromHandle returns the instance behind a callback's user_data.
func fromHandle(h C.uintptr_t) *Tox {
	t, _ := cgo.Handle(h).Value().(*Tox)
	return t
}

// recoverCallback keeps a panic from unwinding through libtoxcore's C
// frames: it is stored and re-raised by the loop after tox_iterate.
func (t *Tox) recoverCallback(name string) {
	if r := recover(); r != nil && t.panicked == nil {
		t.panicked = fmt.Sprintf("tox: panic in %s callback: %v\n%s", name, r, debug.Stack())
	}
}

// friendKey looks up a friend's public key for a callback; the friend
// exists, since libtoxcore is reporting an event about it.
func (t *Tox) friendKey(fn C.uint32_t) PublicKey {
	pk, _ := t.core.FriendPublicKey(uint32(fn))
	return pk
}

//export toxmailSelfConnection
func toxmailSelfConnection(h C.uintptr_t, status C.int) {
	t := fromHandle(h)
	defer t.recoverCallback("SelfConnection")
	if f := t.cb.SelfConnection; f != nil {
		f(Connection(status))
	}
}

//export toxmailFriendRequest
func toxmailFriendRequest(h C.uintptr_t, pk *C.uint8_t, msg *C.uint8_t, n C.size_t) {
	t := fromHandle(h)
	defer t.recoverCallback("FriendRequest")
	if f := t.cb.FriendRequest; f != nil {
		var k PublicKey
		copy(k[:], unsafe.Slice((*byte)(unsafe.Pointer(pk)), PublicKeySize))
		f(k, C.GoStringN((*C.char)(unsafe.Pointer(msg)), C.int(n)))
	}
}

//export toxmailFriendConnection
func toxmailFriendConnection(h C.uintptr_t, fn C.uint32_t, status C.int) {
	t := fromHandle(h)
	defer t.recoverCallback("FriendConnection")
	if f := t.cb.FriendConnection; f != nil {
		f(uint32(fn), t.friendKey(fn), Connection(status))
	}
}

//export toxmailFriendMessage
func toxmailFriendMessage(h C.uintptr_t, fn C.uint32_t, typ C.int, msg *C.uint8_t, n C.size_t) {
	t := fromHandle(h)
	defer t.recoverCallback("FriendMessage")
	if f := t.cb.FriendMessage; f != nil {
		f(uint32(fn), t.friendKey(fn), MessageType(typ), C.GoStringN((*C.char)(unsafe.Pointer(msg)), C.int(n)))
	}
}

//export toxmailFriendLossless
func toxmailFriendLossless(h C.uintptr_t, fn C.uint32_t, data *C.uint8_t, n C.size_t) {
	t := fromHandle(h)
	defer t.recoverCallback("FriendLossless")
	t.core.busy = true
	if f := t.cb.FriendLossless; f != nil {
		f(uint32(fn), t.friendKey(fn), C.GoBytes(unsafe.Pointer(data), C.int(n)))
	}
}

//export toxmailFriendName
func toxmailFriendName(h C.uintptr_t, fn C.uint32_t, name *C.uint8_t, n C.size_t) {
	t := fromHandle(h)
	defer t.recoverCallback("FriendName")
	if f := t.cb.FriendName; f != nil {
		f(uint32(fn), t.friendKey(fn), C.GoStringN((*C.char)(unsafe.Pointer(name)), C.int(n)))
	}
}

//export toxmailFriendReadReceipt
func toxmailFriendReadReceipt(h C.uintptr_t, fn C.uint32_t, id C.uint32_t) {
	t := fromHandle(h)
	defer t.recoverCallback("FriendReadReceipt")
	if f := t.cb.FriendReadReceipt; f != nil {
		f(uint32(fn), t.friendKey(fn), uint32(id))
	}
}

// libtoxcore log levels (Tox_Log_Level).
const (
	logTrace = iota
	logDebug
	logInfo
	logWarning
	logError
)

// logLevels maps libtoxcore's log levels into the Debug band of slog:
// libtoxcore's own warnings and errors are diagnostics, not toxmail
// errors (the binding returns errors for what matters).
var logLevels = [...]slog.Level{
	logTrace:   slog.LevelDebug - 4,
	logDebug:   slog.LevelDebug,
	logInfo:    slog.LevelDebug + 1,
	logWarning: slog.LevelDebug + 2,
	logError:   slog.LevelDebug + 3,
}

var logNames = [...]string{"TRACE", "DEBUG", "INFO", "WARNING", "ERROR"}

// minLogLevel returns the lowest libtoxcore level the logger wants, or -1
// when it wants none (then no log callback is installed at all).
func minLogLevel(l *slog.Logger) int {
	if l == nil {
		return -1
	}
	for lvl, sl := range logLevels {
		if l.Enabled(context.Background(), sl) {
			return lvl
		}
	}
	return -1
}

//export toxmailLog
func toxmailLog(h C.uintptr_t, level C.int, file *C.char, line C.uint32_t, fn *C.char, msg *C.char) {
	t := fromHandle(h)
	if t == nil || t.logger == nil {
		return
	}
	defer t.recoverCallback("log")
	lvl := int(level)
	if lvl < 0 || lvl >= len(logLevels) {
		lvl = logError
	}
	src := fmt.Sprintf("%s:%d", path.Base(C.GoString(file)), uint32(line))
	ok, leftOut := t.logs.allow(src)
	if leftOut > 0 {
		t.logger.LogAttrs(context.Background(), logLevels[lvl], "libtoxcore lines left out",
			slog.Int("count", leftOut), slog.Duration("within", logWindow), slog.String("src", src))
	}
	if !ok {
		return
	}
	t.logger.LogAttrs(context.Background(), logLevels[lvl], C.GoString(msg),
		slog.String("tox_level", logNames[lvl]),
		slog.String("src", src),
		slog.String("func", C.GoString(fn)))
}
