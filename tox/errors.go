package tox

import (
	"fmt"

	"github.com/toxmail/toxmail/mesh"
)

// Error is a failure reported by libtoxcore (a TOX_ERR_* code) or an input
// the binding rejected before calling libtoxcore.
//
// Compare with errors.Is against the sentinels below, never against Code or
// Name directly: several libtoxcore enums share a meaning (FRIEND_NOT_FOUND
// exists in six of them). errors.Is(err, mesh.ErrBackpressure) holds for
// SENDQ and errors.Is(err, mesh.ErrOffline) for FRIEND_NOT_CONNECTED, so the
// mesh classifies them without knowing this package.
type Error struct {
	// Op names the libtoxcore function without its "tox_" prefix, e.g.
	// "friend_send_lossless_packet".
	Op string
	// Code is the numeric TOX_ERR_* value, or -1 when the binding rejected
	// the input itself.
	Code int
	// Name is the enum constant without its TOX_ERR_<OP>_ prefix, e.g.
	// "SENDQ".
	Name string

	kind   *Error // the sentinel this error is an instance of; nil if none
	detail string // what was wrong with the input, for Go-side checks
}

// codeGo is the Code of errors raised by the binding's own input checks.
const codeGo = -1

// Error returns "tox: OP: NAME", with a detail for rejected input.
func (e *Error) Error() string {
	s := "tox: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += e.Name
	if e.detail != "" {
		s += " (" + e.detail + ")"
	}
	return s
}

// Is reports whether e is an instance of target: one of this package's
// sentinels, mesh.ErrBackpressure (for SENDQ), mesh.ErrOffline (for
// FRIEND_NOT_CONNECTED), or another *Error with the same Op and Name.
func (e *Error) Is(target error) bool {
	if e.kind != nil && target == error(e.kind) {
		return true
	}
	switch target {
	case mesh.ErrBackpressure:
		return e.kind == ErrSendQ
	case mesh.ErrOffline:
		return e.kind == ErrFriendNotConnected
	}
	t, ok := target.(*Error)
	return ok && t.Op != "" && t.Op == e.Op && t.Name == e.Name
}

// Temporary reports whether retrying later can succeed: true for a full
// send queue and for a friend that is not connected.
func (e *Error) Temporary() bool {
	return e.kind == ErrSendQ || e.kind == ErrFriendNotConnected
}

func sentinel(name string) *Error {
	e := &Error{Name: name}
	e.kind = e
	return e
}

// Sentinels for errors.Is. Each covers every libtoxcore code with that
// meaning, whichever function reported it.
var (
	// ErrSendQ means the friend's send queue is full (SENDQ): back off
	// until the next iteration. Temporary.
	ErrSendQ = sentinel("SENDQ")
	// ErrFriendNotConnected means the friend is offline. Temporary.
	ErrFriendNotConnected = sentinel("FRIEND_NOT_CONNECTED")
	// ErrFriendNotFound means no friend has that number or key.
	ErrFriendNotFound = sentinel("FRIEND_NOT_FOUND")
	// ErrAlreadyFriend means the key is already a friend or a request to
	// it is pending (ALREADY_SENT, or SET_NEW_NOSPAM when only the nospam
	// changed).
	ErrAlreadyFriend = sentinel("ALREADY_SENT")
	// ErrOwnKey means the address or key is our own.
	ErrOwnKey = sentinel("OWN_KEY")
	// ErrBadChecksum means a Tox ID's checksum does not match.
	ErrBadChecksum = sentinel("BAD_CHECKSUM")
	// ErrNoMessage means a message, request text or packet was empty.
	ErrNoMessage = sentinel("NO_MESSAGE")
	// ErrTooLong means a message, name, packet or host name exceeded its
	// limit.
	ErrTooLong = sentinel("TOO_LONG")
	// ErrInvalid means an argument was out of range or malformed: a packet
	// ID outside 160..191, a bad message type, a bad host or port, invalid
	// UTF-8, inconsistent Options.
	ErrInvalid = sentinel("INVALID")
	// ErrClosed means the Tox instance is closed.
	ErrClosed = sentinel("CLOSED")
	// ErrNotBound means the instance has no such port (tox_self_get_*_port).
	ErrNotBound = sentinel("NOT_BOUND")
	// ErrPortAlloc means tox_new could not bind any UDP port in the range.
	ErrPortAlloc = sentinel("PORT_ALLOC")
	// ErrBadFormat means savedata or a profile file is corrupt or not a
	// Tox save.
	ErrBadFormat = sentinel("BAD_FORMAT")
	// ErrEncrypted means savedata is still encrypted: load it with
	// LoadProfile and the passphrase first.
	ErrEncrypted = sentinel("LOAD_ENCRYPTED")
	// ErrPassphraseRequired means an encrypted profile was loaded without
	// a passphrase.
	ErrPassphraseRequired = sentinel("PASSPHRASE_REQUIRED")
	// ErrWrongPassphrase means an encrypted profile did not decrypt: the
	// passphrase is wrong or the file was altered.
	ErrWrongPassphrase = sentinel("WRONG_PASSPHRASE")
	// ErrInsecureProfile means a profile file is readable or writable by
	// group or others; LoadProfile refuses it, as ssh does with keys.
	ErrInsecureProfile = sentinel("INSECURE_PERMISSIONS")
	// ErrNoMemory means libtoxcore failed to allocate (MALLOC).
	ErrNoMemory = sentinel("MALLOC")
)

// errTable describes one TOX_ERR_* enum: its constant names by code, and
// the sentinel each maps to (missing means none).
type errTable struct {
	names []string
	kinds map[string]*Error
}

// Kinds shared by most enums.
var commonKinds = map[string]*Error{
	"NULL":                 ErrInvalid,
	"MALLOC":               ErrNoMemory,
	"FRIEND_NOT_FOUND":     ErrFriendNotFound,
	"FRIEND_NOT_CONNECTED": ErrFriendNotConnected,
	"SENDQ":                ErrSendQ,
	"TOO_LONG":             ErrTooLong,
	"EMPTY":                ErrNoMessage,
	"INVALID":              ErrInvalid,
	"BAD_HOST":             ErrInvalid,
	"BAD_PORT":             ErrInvalid,
	"NOT_BOUND":            ErrNotBound,
}

// errTables lists the enums the binding uses, keyed by Op, names in the
// order of tox.h / toxencryptsave.h (index = code).
var errTables = map[string]errTable{
	opNew: {names: []string{"OK", "NULL", "MALLOC", "PORT_ALLOC", "PROXY_BAD_TYPE", "PROXY_BAD_HOST",
		"PROXY_BAD_PORT", "PROXY_NOT_FOUND", "LOAD_ENCRYPTED", "LOAD_BAD_FORMAT"},
		kinds: map[string]*Error{"PORT_ALLOC": ErrPortAlloc, "PROXY_BAD_TYPE": ErrInvalid,
			"PROXY_BAD_HOST": ErrInvalid, "PROXY_BAD_PORT": ErrInvalid, "LOAD_ENCRYPTED": ErrEncrypted,
			"LOAD_BAD_FORMAT": ErrBadFormat}},
	opOptionsNew:           {names: []string{"OK", "MALLOC"}},
	opBootstrap:            {names: []string{"OK", "NULL", "BAD_HOST", "BAD_PORT"}},
	opAddTCPRelay:          {names: []string{"OK", "NULL", "BAD_HOST", "BAD_PORT"}},
	opSelfSetName:          {names: []string{"OK", "NULL", "TOO_LONG"}},
	opSelfSetStatusMessage: {names: []string{"OK", "NULL", "TOO_LONG"}},
	opFriendAdd: {names: []string{"OK", "NULL", "TOO_LONG", "NO_MESSAGE", "OWN_KEY", "ALREADY_SENT",
		"BAD_CHECKSUM", "SET_NEW_NOSPAM", "MALLOC"},
		kinds: map[string]*Error{"NO_MESSAGE": ErrNoMessage, "OWN_KEY": ErrOwnKey,
			"ALREADY_SENT": ErrAlreadyFriend, "BAD_CHECKSUM": ErrBadChecksum, "SET_NEW_NOSPAM": ErrAlreadyFriend}},
	// Without an address there is no checksum: libtoxcore reports an
	// invalid public key as BAD_CHECKSUM.
	opFriendAddNorequest: {names: []string{"OK", "NULL", "TOO_LONG", "NO_MESSAGE", "OWN_KEY", "ALREADY_SENT",
		"BAD_CHECKSUM", "SET_NEW_NOSPAM", "MALLOC"},
		kinds: map[string]*Error{"NO_MESSAGE": ErrNoMessage, "OWN_KEY": ErrOwnKey,
			"ALREADY_SENT": ErrAlreadyFriend, "BAD_CHECKSUM": ErrInvalid, "SET_NEW_NOSPAM": ErrAlreadyFriend}},
	opFriendDelete:              {names: []string{"OK", "FRIEND_NOT_FOUND"}},
	opFriendByPublicKey:         {names: []string{"OK", "NULL", "NOT_FOUND"}, kinds: map[string]*Error{"NOT_FOUND": ErrFriendNotFound}},
	opFriendGetPublicKey:        {names: []string{"OK", "FRIEND_NOT_FOUND"}},
	opFriendGetConnectionStatus: {names: []string{"OK", "NULL", "FRIEND_NOT_FOUND"}},
	opFriendGetName:             {names: []string{"OK", "NULL", "FRIEND_NOT_FOUND"}},
	opFriendGetStatusMessage:    {names: []string{"OK", "NULL", "FRIEND_NOT_FOUND"}},
	opFriendSendMessage: {names: []string{"OK", "NULL", "FRIEND_NOT_FOUND", "FRIEND_NOT_CONNECTED", "SENDQ",
		"TOO_LONG", "EMPTY"}},
	opFriendSendLosslessPacket: {names: []string{"OK", "NULL", "FRIEND_NOT_FOUND", "FRIEND_NOT_CONNECTED",
		"INVALID", "EMPTY", "TOO_LONG", "SENDQ"}},
	opSelfGetUDPPort: {names: []string{"OK", "NOT_BOUND"}},
	opSelfGetTCPPort: {names: []string{"OK", "NOT_BOUND"}},
	opPassEncrypt:    {names: []string{"OK", "NULL", "KEY_DERIVATION_FAILED", "FAILED"}},
	opPassDecrypt: {names: []string{"OK", "NULL", "INVALID_LENGTH", "BAD_FORMAT", "KEY_DERIVATION_FAILED",
		"FAILED"},
		kinds: map[string]*Error{"INVALID_LENGTH": ErrBadFormat, "BAD_FORMAT": ErrBadFormat,
			"FAILED": ErrWrongPassphrase}},
}

// toxError converts a TOX_ERR_* code of op into an error; code 0 (OK) is nil.
func toxError(op string, code int) error {
	if code == 0 {
		return nil
	}
	e := &Error{Op: op, Code: code, Name: fmt.Sprintf("UNKNOWN_%d", code)}
	tab, ok := errTables[op]
	if !ok {
		return e
	}
	if code > 0 && code < len(tab.names) {
		e.Name = tab.names[code]
	}
	if k, ok := tab.kinds[e.Name]; ok {
		e.kind = k
	} else {
		e.kind = commonKinds[e.Name]
	}
	return e
}

// invalidf reports input the binding rejected before calling libtoxcore.
func invalidf(op, format string, args ...any) error {
	return &Error{Op: op, Code: codeGo, Name: "INVALID", kind: ErrInvalid, detail: fmt.Sprintf(format, args...)}
}

// rejectf is invalidf for another sentinel (TOO_LONG, NO_MESSAGE, ...).
func rejectf(op string, kind *Error, format string, args ...any) error {
	return &Error{Op: op, Code: codeGo, Name: kind.Name, kind: kind, detail: fmt.Sprintf(format, args...)}
}

// closedError is ErrClosed for op.
func closedError(op string) error {
	return &Error{Op: op, Code: codeGo, Name: ErrClosed.Name, kind: ErrClosed}
}
