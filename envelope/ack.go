package envelope

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

// AckSize is the encoded size of an Ack.
const AckSize = IDSize + 32

// AckSecret is the secret inside an envelope that proves delivery.
type AckSecret [32]byte

// Ack proves that the recipient opened the envelope ID.
type Ack struct {
	ID     ID
	Secret AckSecret
}

var ackDomain = []byte("toxmail/ack/v1\x00")

// HashAckSecret returns the header commitment to an ack secret.
func HashAckSecret(s AckSecret) [AckHashSize]byte {
	h := sha256.New()
	h.Write(ackDomain)
	h.Write(s[:])
	var out [AckHashSize]byte
	h.Sum(out[:0])
	return out
}

// Verify reports whether the ack matches the ack hash from the envelope's
// header. It runs in constant time.
func (a Ack) Verify(ackHash [AckHashSize]byte) bool {
	got := HashAckSecret(a.Secret)
	return subtle.ConstantTimeCompare(got[:], ackHash[:]) == 1
}

// AppendBinary appends the 64-byte encoding: ID then secret.
func (a Ack) AppendBinary(b []byte) []byte {
	b = append(b, a.ID[:]...)
	return append(b, a.Secret[:]...)
}

// DecodeAck decodes exactly AckSize bytes.
func DecodeAck(b []byte) (Ack, error) {
	var a Ack
	if len(b) != AckSize {
		return a, fmt.Errorf("%w: ack is %d bytes, want %d", ErrMalformed, len(b), AckSize)
	}
	copy(a.ID[:], b)
	copy(a.Secret[:], b[IDSize:])
	return a, nil
}
