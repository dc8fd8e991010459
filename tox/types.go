package tox

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/toxmail/toxmail/mesh"
)

// Sizes and limits of libtoxcore 0.2.18. A test checks each against the
// library's own tox_max_* functions.
const (
	// PublicKeySize is the size of a Tox public key (long-term or DHT).
	PublicKeySize = 32
	// SecretKeySize is the size of a Tox secret key.
	SecretKeySize = 32
	// NospamSize is the size of the nospam field of an Address.
	NospamSize = 4
	// AddressSize is the size of a Tox address (Tox ID): public key,
	// nospam and a 2-byte checksum.
	AddressSize = PublicKeySize + NospamSize + 2
	// MaxMessageLength is the longest text message, in bytes of UTF-8.
	MaxMessageLength = 1372
	// MaxCustomPacket is the longest lossless custom packet, including its
	// packet ID byte.
	MaxCustomPacket = 1373
	// MaxFriendRequest is the longest friend request message, in bytes.
	MaxFriendRequest = 1016
	// MaxNameLength is the longest nickname, in bytes.
	MaxNameLength = 128
	// MaxStatusMessageLength is the longest status message, in bytes.
	MaxStatusMessageLength = 1007
	// MaxHostnameLength is libtoxcore's host name limit for Bootstrap,
	// AddTCPRelay and proxies. It counts the C string's NUL byte, so a host
	// name has at most MaxHostnameLength-1 bytes.
	MaxHostnameLength = 255
	// LosslessFirstID and LosslessLastID bound the first byte of a lossless
	// custom packet sent with SendLossless (libtoxcore reserves the rest).
	LosslessFirstID = 160
	// LosslessLastID is the last packet ID usable with SendLossless.
	LosslessLastID = 191
)

// PublicKey is a Tox public key: a friend's long-term key, our own, or a
// DHT key (which is a different, per-session key).
type PublicKey = mesh.FriendKey

// Address is a Tox ID: the public key, a 4-byte nospam value that can be
// changed to stop unwanted friend requests, and a 2-byte checksum.
// Give Address, not PublicKey, to someone who should send you a friend
// request. It is not secret but it is an invitation: logs show it short.
type Address [AddressSize]byte

// PublicKey returns the long-term public key inside the address.
func (a Address) PublicKey() PublicKey {
	var k PublicKey
	copy(k[:], a[:PublicKeySize])
	return k
}

// Nospam returns the nospam value, as tox_self_get_nospam reports it (the
// four address bytes read big-endian).
func (a Address) Nospam() uint32 {
	return binary.BigEndian.Uint32(a[PublicKeySize : PublicKeySize+NospamSize])
}

// Checksum returns the address's 2-byte checksum field as stored.
func (a Address) Checksum() [2]byte {
	return [2]byte{a[AddressSize-2], a[AddressSize-1]}
}

// Valid reports whether the checksum matches the public key and nospam.
func (a Address) Valid() bool { return a.Checksum() == addressChecksum(a[:AddressSize-2]) }

// IsZero reports whether a is all zeros (unset).
func (a Address) IsZero() bool { return a == Address{} }

// String returns the address as 76 upper-case hex digits, the form Tox
// clients show and accept.
func (a Address) String() string { return strings.ToUpper(hex.EncodeToString(a[:])) }

// LogValue logs an address by the short form of its public key.
func (a Address) LogValue() slog.Value { return slog.StringValue(a.PublicKey().Short()) }

// MakeAddress builds an address from a public key and a nospam value,
// computing the checksum.
func MakeAddress(pk PublicKey, nospam uint32) Address {
	var a Address
	copy(a[:], pk[:])
	binary.BigEndian.PutUint32(a[PublicKeySize:], nospam)
	sum := addressChecksum(a[:AddressSize-2])
	a[AddressSize-2], a[AddressSize-1] = sum[0], sum[1]
	return a
}

// addressChecksum is toxcore's address_checksum: the bytes XOR'd into two
// lanes by index parity (byte 0 of the checksum collects the even bytes).
func addressChecksum(b []byte) [2]byte {
	var sum [2]byte
	for i, c := range b {
		sum[i%2] ^= c
	}
	return sum
}

// ParseAddress parses a Tox ID of 76 hex digits (either case, surrounding
// white space ignored) and checks its checksum.
func ParseAddress(s string) (Address, error) {
	var a Address
	s = strings.TrimSpace(s)
	if len(s) != 2*AddressSize {
		return a, invalidf("parse_address", "a Tox ID is %d hex digits, got %d characters", 2*AddressSize, len(s))
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		return Address{}, invalidf("parse_address", "a Tox ID is hex digits only: %v", err)
	}
	if !a.Valid() {
		return Address{}, &Error{Op: "parse_address", Code: codeGo, Name: "BAD_CHECKSUM", kind: ErrBadChecksum,
			detail: "checksum mismatch: the Tox ID was mistyped or truncated"}
	}
	return a, nil
}

// ParsePublicKey parses a public key of 64 hex digits (either case,
// surrounding white space ignored).
func ParsePublicKey(s string) (PublicKey, error) {
	var k PublicKey
	s = strings.TrimSpace(s)
	if len(s) != 2*PublicKeySize {
		return k, invalidf("parse_public_key", "a public key is %d hex digits, got %d characters", 2*PublicKeySize, len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return PublicKey{}, invalidf("parse_public_key", "a public key is hex digits only: %v", err)
	}
	return k, nil
}

// SecretKey is a Tox long-term secret key. Every way of printing it (fmt
// verbs, String, GoString, slog, text marshalling) is redacted; use k[:]
// explicitly where the bytes are really needed.
type SecretKey [SecretKeySize]byte

const redacted = "SecretKey(REDACTED)"

// String returns a redacted placeholder, never the key.
func (SecretKey) String() string { return redacted }

// GoString returns a redacted placeholder, never the key.
func (SecretKey) GoString() string { return redacted }

// Format writes a redacted placeholder for every fmt verb, so %x or %d
// cannot leak the key either.
func (SecretKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue logs a redacted placeholder, never the key.
func (SecretKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// MarshalText refuses to encode the key, so it cannot end up in JSON or
// TOML by accident.
func (SecretKey) MarshalText() ([]byte, error) {
	return nil, errors.New("tox: refusing to marshal a secret key")
}

// IsZero reports whether k is all zeros (unset).
func (k SecretKey) IsZero() bool { return k == SecretKey{} }

// Connection is the state of a connection to the DHT or to a friend.
type Connection int

// Connection states, with libtoxcore's numbering.
const (
	// ConnectionNone means not connected.
	ConnectionNone Connection = 0
	// ConnectionTCP means connected through a TCP relay.
	ConnectionTCP Connection = 1
	// ConnectionUDP means connected directly over UDP.
	ConnectionUDP Connection = 2
)

// String returns "none", "tcp" or "udp".
func (c Connection) String() string {
	switch c {
	case ConnectionNone:
		return "none"
	case ConnectionTCP:
		return "tcp"
	case ConnectionUDP:
		return "udp"
	}
	return fmt.Sprintf("Connection(%d)", int(c))
}

// Online reports whether c is a live connection (TCP or UDP).
func (c Connection) Online() bool { return c == ConnectionTCP || c == ConnectionUDP }

// MessageType is the type of a text message.
type MessageType int

// Message types, with libtoxcore's numbering.
const (
	// MessageNormal is an ordinary chat message.
	MessageNormal MessageType = 0
	// MessageAction is an action ("/me ...") message.
	MessageAction MessageType = 1
)

// String returns "normal" or "action".
func (m MessageType) String() string {
	switch m {
	case MessageNormal:
		return "normal"
	case MessageAction:
		return "action"
	}
	return fmt.Sprintf("MessageType(%d)", int(m))
}
