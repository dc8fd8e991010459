package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/toxmail/toxmail/envelope"
)

// Keys and record encodings of BadgerStore. The layout is described at the
// top of badgerstore.go.

// Key prefixes. The expiry index uses the record prefix as its kind byte.
const (
	badgerPrefixHeld    byte = 'h' // h|id → held meta record
	badgerPrefixEnv     byte = 'e' // e|id|chunk → one chunk of the envelope bytes
	badgerPrefixSeen    byte = 's' // s|id → seen record
	badgerPrefixAck     byte = 'a' // a|id → ack record
	badgerPrefixOutbox  byte = 'o' // o|id → outbox record
	badgerPrefixIndex   byte = 'x' // x|kind|expiry|id → empty
	badgerPrefixVersion byte = 'v' // v → schema version
)

const (
	badgerKeySize      = 1 + envelope.IDSize
	badgerChunkKeySize = badgerKeySize + 2
	badgerIndexKeySize = 1 + 1 + 8 + envelope.IDSize

	// badgerSchema is the version of the key layout, kept under the 'v' key.
	// Version 1 kept each envelope whole under e|id; version 2 keeps it in
	// chunks under e|id|chunk, and its length in the held record.
	badgerSchema = 2
	// badgerRecordV1 is the first byte of every version-1 record.
	badgerRecordV1 = 1
	// badgerHeldV2 is the first byte of a held record, which also carries
	// the envelope's length since schema 2.
	badgerHeldV2 = 2

	// badgerChunkSize is the most ciphertext bytes in one envelope chunk.
	// It must stay below badgerMemValueThreshold (see badgerstore.go).
	badgerChunkSize = 512 << 10
	// badgerMaxEnvelope is the format maximum: the longest envelope any
	// store keeps (64 MiB of ciphertext and the header). It has
	// 1 + 128 chunks.
	badgerMaxEnvelope = envelope.HeaderSize + envelope.MaxCiphertext

	badgerHeldSize = 1 + envelope.IDSize + 8 + 1 + 8 + envelope.TagSize + envelope.AckHashSize + envelope.KeySize + 1 + 8
	badgerSeenSize = 1 + 8
	// badgerSeenEvictedSize is a seen record that keeps an evicted
	// envelope's ack hash, whose first byte is badgerSeenEvictedV2.
	badgerSeenEvictedSize = badgerSeenSize + envelope.AckHashSize
	badgerSeenEvictedV2   = 2
	badgerAckSize         = 1 + envelope.AckSize + 8
	badgerOutboxBase      = 1 + envelope.IDSize + envelope.KeySize + 8 + 8 + 8 + 1 + 8 + 8 + 1

	// badgerMaxLabel bounds OutboxEntry.Label.
	badgerMaxLabel = 255

	badgerFlagOwn = 1 << 0
)

var errBadgerCorrupt = errors.New("corrupt record")

// badgerKey returns prefix|id.
func badgerKey(prefix byte, id envelope.ID) []byte {
	k := make([]byte, badgerKeySize)
	k[0] = prefix
	copy(k[1:], id[:])
	return k
}

// Envelope chunks. Chunk 0 is the envelope's header (envelope.HeaderSize
// bytes, the hop counter among them); chunk i ≥ 1 holds the ciphertext bytes
// [(i-1)·badgerChunkSize, i·badgerChunkSize), the last chunk possibly
// shorter. An envelope of exactly the header's size has chunk 0 only.

// badgerChunkCount returns how many chunks an envelope of n ≥
// envelope.HeaderSize bytes has.
func badgerChunkCount(n int) int {
	return 1 + (n-envelope.HeaderSize+badgerChunkSize-1)/badgerChunkSize
}

// badgerChunkBounds returns the byte range of chunk i of an envelope of n
// bytes.
func badgerChunkBounds(i, n int) (lo, hi int) {
	if i == 0 {
		return 0, envelope.HeaderSize
	}
	lo = envelope.HeaderSize + (i-1)*badgerChunkSize
	return lo, min(n, lo+badgerChunkSize)
}

// badgerChunkKey returns e|id|chunk, chunk as 2 big-endian bytes.
func badgerChunkKey(id envelope.ID, chunk int) []byte {
	k := make([]byte, badgerKeySize, badgerChunkKeySize)
	k[0] = badgerPrefixEnv
	copy(k[1:], id[:])
	return binary.BigEndian.AppendUint16(k, uint16(chunk))
}

// badgerParseChunkKey splits a chunk key.
func badgerParseChunkKey(k []byte) (id envelope.ID, chunk int, err error) {
	if len(k) != badgerChunkKeySize || k[0] != badgerPrefixEnv {
		return id, 0, fmt.Errorf("%w: envelope chunk key of %d bytes", errBadgerCorrupt, len(k))
	}
	copy(id[:], k[1:])
	return id, int(binary.BigEndian.Uint16(k[badgerKeySize:])), nil
}

// badgerSortable maps an int64 to a uint64 with the same order, so that
// big-endian keys sort by time even for negative values.
func badgerSortable(v int64) uint64 { return uint64(v) ^ (1 << 63) }

// badgerIndexKey returns x|kind|expiry|id.
func badgerIndexKey(kind byte, expiry int64, id envelope.ID) []byte {
	k := make([]byte, badgerIndexKeySize)
	k[0] = badgerPrefixIndex
	k[1] = kind
	binary.BigEndian.PutUint64(k[2:], badgerSortable(expiry))
	copy(k[10:], id[:])
	return k
}

// badgerParseIndexKey splits an index key.
func badgerParseIndexKey(k []byte) (kind byte, expiry int64, id envelope.ID, err error) {
	if len(k) != badgerIndexKeySize || k[0] != badgerPrefixIndex {
		return 0, 0, id, fmt.Errorf("%w: index key of %d bytes", errBadgerCorrupt, len(k))
	}
	switch k[1] {
	case badgerPrefixHeld, badgerPrefixSeen, badgerPrefixAck, badgerPrefixOutbox:
	default:
		return 0, 0, id, fmt.Errorf("%w: index kind %#x", errBadgerCorrupt, k[1])
	}
	expiry = int64(binary.BigEndian.Uint64(k[2:]) ^ (1 << 63))
	copy(id[:], k[10:])
	return k[1], expiry, id, nil
}

// badgerIDFromKey returns the ID of a prefix|id key.
func badgerIDFromKey(k []byte) (envelope.ID, error) {
	var id envelope.ID
	if len(k) != badgerKeySize {
		return id, fmt.Errorf("%w: key of %d bytes", errBadgerCorrupt, len(k))
	}
	copy(id[:], k[1:])
	return id, nil
}

// badgerCheckOp rejects an operation that no store can keep as given. Both
// BadgerStore and MemStore call it, so that they accept the same batches.
func badgerCheckOp(op *Op) error {
	switch op.Kind {
	case OpPutHeld:
		switch {
		case op.Meta.ID != op.ID:
			return fmt.Errorf("mesh: put held %s: op ID differs from meta ID %s", op.ID.Short(), op.Meta.ID.Short())
		case len(op.Env) < envelope.HeaderSize:
			return fmt.Errorf("mesh: put held %s: %d bytes is shorter than an envelope header", op.ID.Short(), len(op.Env))
		case len(op.Env) > badgerMaxEnvelope:
			return fmt.Errorf("mesh: put held %s: %d bytes is longer than the largest envelope, %d bytes", op.ID.Short(), len(op.Env), badgerMaxEnvelope)
		case op.Meta.Size < 0:
			return fmt.Errorf("mesh: put held %s: negative size %d", op.ID.Short(), op.Meta.Size)
		}
	case OpDeleteHeld, OpSetHops, OpMarkSeen:
	case OpEvict:
		if op.Meta.ID != op.ID {
			return fmt.Errorf("mesh: evict %s: op ID differs from meta ID %s", op.ID.Short(), op.Meta.ID.Short())
		}
	case OpPutAck:
		if op.Ack.Ack.ID != op.ID {
			return fmt.Errorf("mesh: put ack %s: op ID differs from ack ID %s", op.ID.Short(), op.Ack.Ack.ID.Short())
		}
	case OpPutOutbox:
		o := &op.Outbox
		switch {
		case o.ID != op.ID:
			return fmt.Errorf("mesh: put outbox %s: op ID differs from entry ID %s", op.ID.Short(), o.ID.Short())
		case len(o.Label) > badgerMaxLabel:
			return fmt.Errorf("mesh: put outbox %s: label of %d bytes, at most %d allowed", op.ID.Short(), len(o.Label), badgerMaxLabel)
		case o.Status < StatusQueued || o.Status > StatusExpired:
			return fmt.Errorf("mesh: put outbox %s: unknown status %d", op.ID.Short(), o.Status)
		case o.Size < 0:
			return fmt.Errorf("mesh: put outbox %s: negative size %d", op.ID.Short(), o.Size)
		}
	default:
		return fmt.Errorf("mesh: unknown batch operation %d", op.Kind)
	}
	return nil
}

// Held meta record, version 2 (139 bytes):
//
//	version(1) = 2 | id(32) | expiry(8) | hops(1) | size(8) | tag(16) |
//	ackHash(32) | from(32) | flags(1: bit 0 = own) | envLen(8)
//
// envLen is the length of the envelope bytes stored in chunks, which tells
// how many chunks there are; size is HeldMeta.Size, as the node gave it.

func badgerEncodeHeld(m *HeldMeta, envLen int) []byte {
	b := make([]byte, 0, badgerHeldSize)
	b = append(b, badgerHeldV2)
	b = append(b, m.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Expiry))
	b = append(b, m.Hops)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Size))
	b = append(b, m.Tag[:]...)
	b = append(b, m.AckHash[:]...)
	b = append(b, m.From[:]...)
	var flags byte
	if m.Own {
		flags |= badgerFlagOwn
	}
	b = append(b, flags)
	return binary.BigEndian.AppendUint64(b, uint64(envLen))
}

// badgerDecodeHeld returns the meta of a held record and the length of the
// envelope it describes.
func badgerDecodeHeld(b []byte) (HeldMeta, int, error) {
	var m HeldMeta
	if err := badgerCheckVersion("held", b, badgerHeldSize, badgerHeldV2); err != nil {
		return m, 0, err
	}
	r := badgerReader{b: b[1:]}
	r.bytes(m.ID[:])
	m.Expiry = r.int64()
	m.Hops = r.byte()
	size := r.int64()
	r.bytes(m.Tag[:])
	r.bytes(m.AckHash[:])
	r.bytes(m.From[:])
	flags := r.byte()
	envLen := r.int64()
	if size < 0 || uint64(size) > math.MaxInt {
		return HeldMeta{}, 0, fmt.Errorf("%w: held size %d", errBadgerCorrupt, size)
	}
	if flags&^badgerFlagOwn != 0 {
		return HeldMeta{}, 0, fmt.Errorf("%w: held flags %#x", errBadgerCorrupt, flags)
	}
	if envLen < envelope.HeaderSize || envLen > badgerMaxEnvelope {
		return HeldMeta{}, 0, fmt.Errorf("%w: held envelope length %d", errBadgerCorrupt, envLen)
	}
	m.Size = int(size)
	m.Own = flags&badgerFlagOwn != 0
	return m, int(envLen), nil
}

// Seen record, version 1 (9 bytes): version(1) | expiry(8); or, for an
// envelope evicted for budget, version 2 (41 bytes): version(1) = 2 |
// expiry(8) | ackHash(32).

// badgerSeen is a decoded seen record.
type badgerSeen struct {
	expiry  int64
	evicted bool                       // version 2: the envelope was evicted
	ackHash [envelope.AckHashSize]byte // its ack hash, if evicted
}

func badgerEncodeSeen(s badgerSeen) []byte {
	if !s.evicted {
		b := make([]byte, 0, badgerSeenSize)
		b = append(b, badgerRecordV1)
		return binary.BigEndian.AppendUint64(b, uint64(s.expiry))
	}
	b := make([]byte, 0, badgerSeenEvictedSize)
	b = append(b, badgerSeenEvictedV2)
	b = binary.BigEndian.AppendUint64(b, uint64(s.expiry))
	return append(b, s.ackHash[:]...)
}

func badgerDecodeSeen(b []byte) (badgerSeen, error) {
	var s badgerSeen
	if len(b) == badgerSeenEvictedSize && b[0] == badgerSeenEvictedV2 {
		s.evicted = true
		copy(s.ackHash[:], b[9:])
	} else if err := badgerCheckRecord("seen", b, badgerSeenSize); err != nil {
		return s, err
	}
	s.expiry = int64(binary.BigEndian.Uint64(b[1:9]))
	return s, nil
}

// Ack record, version 1 (73 bytes): version(1) | id(32) | secret(32) | expiry(8)

func badgerEncodeAck(a *AckRecord) []byte {
	b := make([]byte, 0, badgerAckSize)
	b = append(b, badgerRecordV1)
	b = a.Ack.AppendBinary(b)
	return binary.BigEndian.AppendUint64(b, uint64(a.Expiry))
}

func badgerDecodeAck(b []byte) (AckRecord, error) {
	var a AckRecord
	if err := badgerCheckRecord("ack", b, badgerAckSize); err != nil {
		return a, err
	}
	ack, err := envelope.DecodeAck(b[1 : 1+envelope.AckSize])
	if err != nil {
		return a, fmt.Errorf("%w: %w", errBadgerCorrupt, err)
	}
	a.Ack = ack
	a.Expiry = int64(binary.BigEndian.Uint64(b[1+envelope.AckSize:]))
	return a, nil
}

// Outbox record, version 1 (107 + label bytes):
//
//	version(1) | id(32) | to(32) | created(8) | expiry(8) | size(8) |
//	status(1) | offered(8) | delivered(8) | labelLen(1) | label

func badgerEncodeOutbox(o *OutboxEntry) []byte {
	b := make([]byte, 0, badgerOutboxBase+len(o.Label))
	b = append(b, badgerRecordV1)
	b = append(b, o.ID[:]...)
	b = append(b, o.To[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(o.Created))
	b = binary.BigEndian.AppendUint64(b, uint64(o.Expiry))
	b = binary.BigEndian.AppendUint64(b, uint64(o.Size))
	b = append(b, byte(o.Status))
	b = binary.BigEndian.AppendUint64(b, uint64(o.Offered))
	b = binary.BigEndian.AppendUint64(b, uint64(o.Delivered))
	b = append(b, byte(len(o.Label))) // badgerCheckOp bounds it
	return append(b, o.Label...)
}

func badgerDecodeOutbox(b []byte) (OutboxEntry, error) {
	var o OutboxEntry
	if len(b) < badgerOutboxBase {
		return o, fmt.Errorf("%w: outbox record of %d bytes, want at least %d", errBadgerCorrupt, len(b), badgerOutboxBase)
	}
	if n := int(b[badgerOutboxBase-1]); len(b) != badgerOutboxBase+n {
		return o, fmt.Errorf("%w: outbox record of %d bytes with a %d-byte label", errBadgerCorrupt, len(b), n)
	}
	if err := badgerCheckRecord("outbox", b, len(b)); err != nil {
		return o, err
	}
	r := badgerReader{b: b[1:]}
	r.bytes(o.ID[:])
	r.bytes(o.To[:])
	o.Created = r.int64()
	o.Expiry = r.int64()
	size := r.int64()
	o.Status = Status(r.byte())
	o.Offered = r.int64()
	o.Delivered = r.int64()
	n := int(r.byte())
	o.Label = string(r.b[:n])
	if size < 0 || uint64(size) > math.MaxInt {
		return OutboxEntry{}, fmt.Errorf("%w: outbox size %d", errBadgerCorrupt, size)
	}
	if o.Status < StatusQueued || o.Status > StatusExpired {
		return OutboxEntry{}, fmt.Errorf("%w: outbox status %d", errBadgerCorrupt, o.Status)
	}
	o.Size = int(size)
	return o, nil
}

// badgerCheckRecord checks a version-1 record's length and version byte.
func badgerCheckRecord(what string, b []byte, size int) error {
	return badgerCheckVersion(what, b, size, badgerRecordV1)
}

// badgerCheckVersion checks a record's length and version byte.
func badgerCheckVersion(what string, b []byte, size int, version byte) error {
	if len(b) != size {
		return fmt.Errorf("%w: %s record of %d bytes, want %d", errBadgerCorrupt, what, len(b), size)
	}
	if b[0] != version {
		return fmt.Errorf("%w: %s record version %d", errBadgerCorrupt, what, b[0])
	}
	return nil
}

// badgerReader reads fixed-size fields from a record whose length has
// already been checked.
type badgerReader struct{ b []byte }

func (r *badgerReader) bytes(dst []byte) { r.b = r.b[copy(dst, r.b):] }

func (r *badgerReader) byte() byte {
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *badgerReader) int64() int64 {
	v := int64(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}
