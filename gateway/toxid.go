package gateway

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/toxmail/toxmail/envelope"
)

// Layout of a Tox ID (toxcore's "address"): the long-term public key, the
// nospam value that lets the owner revoke friend requests, and a two-byte
// checksum that catches typing mistakes.
const (
	ToxIDSize       = 38 // bytes
	ToxIDHexLen     = 2 * ToxIDSize
	toxNospamOffset = envelope.KeySize // 32
	toxCheckOffset  = toxNospamOffset + 4
)

// Errors from ParseToxID, for errors.Is. Each is wrapped with the details
// (lengths, positions, checksums) so the message alone tells the user what
// to fix.
var (
	ErrToxIDLength   = errors.New("a Tox ID is 76 hex digits")
	ErrToxIDHex      = errors.New("a Tox ID is made of hex digits only")
	ErrToxIDChecksum = errors.New("the Tox ID's checksum does not match (mistyped or truncated ID?)")
	// ErrToxIDKey: the checksum matches, but the public key is one no Tox
	// node can have (its last byte has the top bit set), so Tox refuses to
	// befriend it and mail to it could never arrive.
	ErrToxIDKey = errors.New("the Tox ID's public key is not a valid Curve25519 key (mistyped ID?)")
)

// ToxID is a 38-byte Tox ID: a 32-byte public key, a 4-byte nospam and a
// 2-byte checksum. Byte 36 of the checksum is the XOR of the even-indexed
// bytes 0..35, byte 37 the XOR of the odd-indexed ones, as in toxcore.
//
// Only the public key matters for mail: envelopes are sealed to it. The
// nospam is carried along so that an ID can be shown and shared intact.
type ToxID [ToxIDSize]byte

// NewToxID builds the Tox ID of a public key and nospam, computing the
// checksum.
func NewToxID(pk envelope.PublicKey, nospam [4]byte) ToxID {
	var id ToxID
	copy(id[:], pk[:])
	copy(id[toxNospamOffset:], nospam[:])
	c := id.checksum()
	copy(id[toxCheckOffset:], c[:])
	return id
}

// ParseToxID parses 76 hex digits, in either case, verifies the checksum
// and that the key is one a Tox node can have (ErrToxIDKey). Surrounding
// white space is not accepted: callers trim.
func ParseToxID(s string) (ToxID, error) {
	id, err := ParseStoredToxID(s)
	if err == nil && !validKey(id.PublicKey()) {
		return ToxID{}, fmt.Errorf("%w: digits 63–64 are %02X, and no Tox key has a last byte above 7F", ErrToxIDKey, id[envelope.KeySize-1])
	}
	return id, err
}

// ParseStoredToxID is ParseToxID without the check of the key, for the
// address book's file: an entry saved before toxmail checked keys loads
// (the node would not start otherwise), and mail to it is refused at RCPT
// TO instead (Resolver.Resolve).
func ParseStoredToxID(s string) (ToxID, error) {
	var id ToxID
	if len(s) != ToxIDHexLen {
		return ToxID{}, fmt.Errorf("%w, got %d characters", ErrToxIDLength, len(s))
	}
	for i := 0; i < len(s); i++ {
		if toxHexDigit(s[i]) < 0 {
			return ToxID{}, fmt.Errorf("%w: %q at position %d", ErrToxIDHex, rune(s[i]), i+1)
		}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil { // cannot fail after the check above
		return ToxID{}, fmt.Errorf("%w: %v", ErrToxIDHex, err)
	}
	if want := id.checksum(); [2]byte(id[toxCheckOffset:]) != want {
		return ToxID{}, fmt.Errorf("%w: the ID ends in %02X%02X, its first 72 digits give %02X%02X",
			ErrToxIDChecksum, id[36], id[37], want[0], want[1])
	}
	return id, nil
}

// validKey reports whether pk can be a Tox node's public key: a Curve25519
// public key is below 2^255, so its last byte (little-endian) is at most
// 0x7F, and libtoxcore refuses any other as a friend.
func validKey(pk envelope.PublicKey) bool { return pk[envelope.KeySize-1] < 0x80 }

func toxHexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// checksum computes the two checksum bytes over the key and nospam.
func (id ToxID) checksum() [2]byte {
	var c [2]byte
	for i := 0; i < toxCheckOffset; i++ {
		c[i%2] ^= id[i]
	}
	return c
}

// Valid reports whether the checksum matches. IDs from ParseToxID and
// NewToxID are always valid; the zero ToxID is valid too but names no one
// (see IsZero).
func (id ToxID) Valid() bool { return [2]byte(id[toxCheckOffset:]) == id.checksum() }

// IsZero reports whether the public key part is all zeros, that is, the ID
// is unset.
func (id ToxID) IsZero() bool { return id.PublicKey().IsZero() }

// PublicKey returns the long-term public key, the key mail is sealed to.
func (id ToxID) PublicKey() envelope.PublicKey {
	var pk envelope.PublicKey
	copy(pk[:], id[:envelope.KeySize])
	return pk
}

// Nospam returns the 4-byte nospam value.
func (id ToxID) Nospam() [4]byte { return [4]byte(id[toxNospamOffset:toxCheckOffset]) }

// String returns the ID as 76 upper-case hex digits, the way Tox clients
// show it.
func (id ToxID) String() string { return strings.ToUpper(hex.EncodeToString(id[:])) }

// Address returns the ID's raw mail address, "<76 hex>@tox".
func (id ToxID) Address() string { return id.String() + "@" + ToxDomain }

// LogValue logs an ID by the short form of its public key.
func (id ToxID) LogValue() slog.Value { return slog.StringValue(id.PublicKey().Short()) }

// MarshalText encodes the ID as 76 hex digits, so that an address book can
// be kept in TOML or JSON.
func (id ToxID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses 76 hex digits, checksum included.
func (id *ToxID) UnmarshalText(b []byte) error {
	p, err := ParseToxID(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParseKey reads what a user may name a Tox friend by: its public key (64
// hex digits) or its full Tox ID (76 hex digits, checksum verified), in
// either case, surrounding white space ignored. ok is false for anything
// else, for example a contact name.
func ParseKey(s string) (pk envelope.PublicKey, ok bool) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 2 * envelope.KeySize:
		k, err := envelope.ParsePublicKey(s)
		return k, err == nil && validKey(k)
	case ToxIDHexLen:
		id, err := ParseToxID(s)
		return id.PublicKey(), err == nil && !id.IsZero()
	}
	return pk, false
}
