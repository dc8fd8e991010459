package inbox

import (
	"encoding/hex"
	"fmt"
	"log/slog"
)

// EnvelopeID is the 32-byte ID of the envelope a mail arrived in.
type EnvelopeID [32]byte

// UIDLength is the length of every UID: 64 lower-case hex digits.
const UIDLength = 2 * len(EnvelopeID{})

// UID returns the mail's stable unique ID: the 64 lower-case hex digits of
// id. It is a valid RFC 1939 UIDL (characters 0x21-0x7E, at most 70).
func (id EnvelopeID) UID() string { return hex.EncodeToString(id[:]) }

// String returns id.UID().
func (id EnvelopeID) String() string { return id.UID() }

// LogValue prints a short prefix of the ID, enough to tell mails apart in
// logs.
func (id EnvelopeID) LogValue() slog.Value { return slog.StringValue(hex.EncodeToString(id[:6])) }

// ParseUID is the inverse of [EnvelopeID.UID]. It accepts exactly 64
// lower-case hex digits and nothing else, so that every mail has exactly one
// UID.
func ParseUID(uid string) (EnvelopeID, error) {
	var id EnvelopeID
	if len(uid) != UIDLength {
		return id, fmt.Errorf("inbox: UID has %d characters, want %d", len(uid), UIDLength)
	}
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return id, fmt.Errorf("inbox: UID has %q at %d, want lower-case hex", c, i)
		}
	}
	if _, err := hex.Decode(id[:], []byte(uid)); err != nil {
		return id, fmt.Errorf("inbox: UID: %w", err)
	}
	return id, nil
}
