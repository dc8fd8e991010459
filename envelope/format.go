package envelope

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Format constants of version 1.
const (
	Version1 = 1 // the only envelope version this package reads and writes
	KindMail = 1 // a sealed mail

	TagSize     = 16
	NonceSize   = 24
	AckHashSize = 32

	// HeaderSize is the size of everything before the ciphertext.
	HeaderSize = 120
	// MaxCiphertext bounds the ciphertext any decoder accepts (64 MiB).
	// Nodes enforce smaller budgets of their own.
	MaxCiphertext = 64 << 20
	// MinCiphertext is the smallest ciphertext Seal produces: the smallest
	// padding bucket plus the box overhead.
	MinCiphertext = minBucket + boxOverhead
)

const (
	offVersion = 0
	offKind    = 1
	offHops    = 2
	offFlags   = 3
	offExpiry  = 4
	offTag     = 12
	offEph     = 28
	offAckHash = 60
	offNonce   = 92
	offLen     = 116
)

// Tag is the relay-visible recipient tag.
type Tag [TagSize]byte

// Header is the relay-visible part of an envelope.
type Header struct {
	Hops         uint8             // hops the envelope may still travel
	Expiry       int64             // absolute expiry, Unix seconds
	Tag          Tag               // recipient tag for the expiry's epoch
	EphemeralKey PublicKey         // fresh key of the outer box
	AckHash      [AckHashSize]byte // hash of the ack secret
	Nonce        [NonceSize]byte   // nonce of the outer box
}

// ExpiryTime returns the expiry as a time.Time.
func (h *Header) ExpiryTime() time.Time { return time.Unix(h.Expiry, 0) }

// Envelope is a decoded sealed envelope.
type Envelope struct {
	Header
	Ciphertext []byte
}

// Size returns the encoded size in bytes.
func (e *Envelope) Size() int { return HeaderSize + len(e.Ciphertext) }

// ID returns the envelope's ID.
func (e *Envelope) ID() ID { return ComputeID(e.Encode()) }

// Encode returns the wire encoding.
func (e *Envelope) Encode() []byte { return e.AppendBinary(make([]byte, 0, e.Size())) }

// AppendBinary appends the wire encoding to b.
func (e *Envelope) AppendBinary(b []byte) []byte {
	var h [HeaderSize]byte
	h[offVersion] = Version1
	h[offKind] = KindMail
	h[offHops] = e.Hops
	binary.BigEndian.PutUint64(h[offExpiry:], uint64(e.Expiry))
	copy(h[offTag:], e.Tag[:])
	copy(h[offEph:], e.EphemeralKey[:])
	copy(h[offAckHash:], e.AckHash[:])
	copy(h[offNonce:], e.Nonce[:])
	binary.BigEndian.PutUint32(h[offLen:], uint32(len(e.Ciphertext)))
	b = append(b, h[:]...)
	return append(b, e.Ciphertext...)
}

// ParseHeader strictly checks that b is exactly one whole version-1 envelope
// and returns its header without copying the ciphertext. It never panics.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrMalformed, len(b), HeaderSize)
	}
	if b[offVersion] != Version1 || b[offKind] != KindMail {
		return h, fmt.Errorf("%w: version %d kind %d", ErrVersion, b[offVersion], b[offKind])
	}
	if b[offFlags] != 0 {
		return h, fmt.Errorf("%w: reserved flags %#x set", ErrMalformed, b[offFlags])
	}
	n := binary.BigEndian.Uint32(b[offLen:])
	if n < MinCiphertext || n > MaxCiphertext {
		return h, fmt.Errorf("%w: ciphertext length %d outside [%d, %d]", ErrMalformed, n, MinCiphertext, MaxCiphertext)
	}
	if uint64(len(b)-HeaderSize) != uint64(n) {
		return h, fmt.Errorf("%w: header declares %d ciphertext bytes, %d present", ErrMalformed, n, len(b)-HeaderSize)
	}
	h.Hops = b[offHops]
	h.Expiry = int64(binary.BigEndian.Uint64(b[offExpiry:]))
	if h.Expiry <= 0 {
		return h, fmt.Errorf("%w: expiry %d is not a positive Unix time", ErrMalformed, h.Expiry)
	}
	copy(h.Tag[:], b[offTag:])
	copy(h.EphemeralKey[:], b[offEph:])
	copy(h.AckHash[:], b[offAckHash:])
	copy(h.Nonce[:], b[offNonce:])
	return h, nil
}

// Decode strictly decodes one whole envelope, copying its ciphertext.
func Decode(b []byte) (*Envelope, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	return &Envelope{Header: h, Ciphertext: append([]byte(nil), b[HeaderSize:]...)}, nil
}

// SetHops rewrites the hop counter of an encoded envelope in place. It does
// not change the envelope's ID.
func SetHops(b []byte, hops uint8) { b[offHops] = hops }
