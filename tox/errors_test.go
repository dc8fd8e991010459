package tox

import (
	"errors"
	"fmt"
	"testing"

	"github.com/toxmail/toxmail/mesh"
)

func TestErrorMapping(t *testing.T) {
	for _, c := range []struct {
		op        string
		code      int
		name      string
		sentinel  error
		temporary bool
	}{
		{"friend_send_lossless_packet", 7, "SENDQ", ErrSendQ, true},
		{"friend_send_lossless_packet", 3, "FRIEND_NOT_CONNECTED", ErrFriendNotConnected, true},
		{"friend_send_lossless_packet", 2, "FRIEND_NOT_FOUND", ErrFriendNotFound, false},
		{"friend_send_lossless_packet", 4, "INVALID", ErrInvalid, false},
		{"friend_send_lossless_packet", 5, "EMPTY", ErrNoMessage, false},
		{"friend_send_lossless_packet", 6, "TOO_LONG", ErrTooLong, false},
		{"friend_send_message", 4, "SENDQ", ErrSendQ, true},
		{"friend_send_message", 3, "FRIEND_NOT_CONNECTED", ErrFriendNotConnected, true},
		{"friend_send_message", 6, "EMPTY", ErrNoMessage, false},
		{"friend_add", 3, "NO_MESSAGE", ErrNoMessage, false},
		{"friend_add", 4, "OWN_KEY", ErrOwnKey, false},
		{"friend_add", 5, "ALREADY_SENT", ErrAlreadyFriend, false},
		{"friend_add", 6, "BAD_CHECKSUM", ErrBadChecksum, false},
		{"friend_add_norequest", 6, "BAD_CHECKSUM", ErrInvalid, false},
		{"friend_add", 7, "SET_NEW_NOSPAM", ErrAlreadyFriend, false},
		{"friend_add", 8, "MALLOC", ErrNoMemory, false},
		{"friend_by_public_key", 2, "NOT_FOUND", ErrFriendNotFound, false},
		{"friend_delete", 1, "FRIEND_NOT_FOUND", ErrFriendNotFound, false},
		{"bootstrap", 2, "BAD_HOST", ErrInvalid, false},
		{"self_get_tcp_port", 1, "NOT_BOUND", ErrNotBound, false},
		{"new", 3, "PORT_ALLOC", ErrPortAlloc, false},
		{"new", 8, "LOAD_ENCRYPTED", ErrEncrypted, false},
		{"new", 9, "LOAD_BAD_FORMAT", ErrBadFormat, false},
		{"pass_decrypt", 5, "FAILED", ErrWrongPassphrase, false},
	} {
		err := toxError(c.op, c.code)
		var te *Error
		if !errors.As(err, &te) || te.Op != c.op || te.Code != c.code || te.Name != c.name {
			t.Errorf("%s %d: got %#v, want name %s", c.op, c.code, err, c.name)
			continue
		}
		if want := "tox: " + c.op + ": " + c.name; err.Error() != want {
			t.Errorf("Error(): got %q, want %q", err.Error(), want)
		}
		wrapped := fmt.Errorf("context: %w", err)
		if !errors.Is(wrapped, c.sentinel) {
			t.Errorf("%s: errors.Is(%v) false", err, c.sentinel)
		}
		if te.Temporary() != c.temporary || mesh.Temporary(wrapped) != c.temporary {
			t.Errorf("%s: Temporary %v, mesh.Temporary %v, want %v", err, te.Temporary(), mesh.Temporary(wrapped), c.temporary)
		}
		if errors.Is(wrapped, mesh.ErrBackpressure) != (c.sentinel == ErrSendQ) {
			t.Errorf("%s: errors.Is(mesh.ErrBackpressure) wrong", err)
		}
		if errors.Is(wrapped, mesh.ErrOffline) != (c.sentinel == ErrFriendNotConnected) {
			t.Errorf("%s: errors.Is(mesh.ErrOffline) wrong", err)
		}
		for _, other := range []error{ErrSendQ, ErrFriendNotFound, ErrClosed, ErrInvalid} {
			if other != c.sentinel && errors.Is(err, other) {
				t.Errorf("%s: also matches %v", err, other)
			}
		}
		// An *Error with the same Op and Name matches, whatever its code.
		if !errors.Is(err, &Error{Op: c.op, Name: c.name}) {
			t.Errorf("%s: does not match an equal *Error", err)
		}
	}
	if err := toxError("friend_add", 0); err != nil {
		t.Errorf("code 0: got %v, want nil", err)
	}
	if err := toxError("friend_add", 99); err == nil || err.Error() != "tox: friend_add: UNKNOWN_99" {
		t.Errorf("unknown code: got %v", err)
	}
	if err := toxError("no_such_op", 1); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("unknown op: got %v", err)
	}
	if !ErrSendQ.Temporary() || ErrClosed.Temporary() || !errors.Is(ErrSendQ, ErrSendQ) {
		t.Error("sentinels should classify themselves")
	}
	if got := invalidf("friend_send_lossless_packet", "packet ID %d", 3).Error(); got != "tox: friend_send_lossless_packet: INVALID (packet ID 3)" {
		t.Errorf("invalidf: got %q", got)
	}
}
