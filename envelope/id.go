package envelope

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"sync"
)

// IDSize is the size of an envelope ID.
const IDSize = sha256.Size

// ID names an envelope: SHA-256 over every field but the hop counter.
type ID [IDSize]byte

// String returns the ID as 64 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 12 hex digits, for logs and tables.
func (id ID) Short() string { return hex.EncodeToString(id[:6]) }

// LogValue logs an ID by its short form.
func (id ID) LogValue() slog.Value { return slog.StringValue(id.Short()) }

// ParseID parses 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("envelope: ID must be %d hex digits, got %d", 2*IDSize, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("envelope: ID is not hex: %w", err)
	}
	return id, nil
}

var idDomain = []byte("toxmail/envelope-id/v1\x00")

// ComputeID returns the ID of an encoded envelope. b must be a whole
// encoded envelope; use ParseHeader first to check that it is one.
func ComputeID(b []byte) ID {
	h := hashers.Get().(hash.Hash)
	h.Reset()
	h.Write(idDomain)
	h.Write(b[:offHops])
	h.Write(b[offHops+1:])
	var id ID
	h.Sum(id[:0])
	hashers.Put(h)
	return id
}

var hashers = sync.Pool{New: func() any { return sha256.New() }}
