package inbox

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Records are fixed-width, big-endian and start with a version byte. Decoding
// is strict: the length must be exact, the version known and every field in
// range. A record that fails any check is ErrCorrupt, never a panic.

const recordV1 = 1

const (
	// MaxPathLength bounds Meta.PathLength.
	MaxPathLength = 1<<16 - 1

	// maxStoredSize bounds a stored mail's size (1 TiB), far above any
	// sensible MaxMessageSize; it only keeps corrupt records from being
	// believed.
	maxStoredSize = 1 << 40

	// maxChunkSize bounds the chunk size a record may claim.
	maxChunkSize = 64 << 20

	timeLen = 12 // seconds (int64) and nanoseconds (uint32)

	// message record: version, envelope, body ID, size, chunk size,
	// received, sender, path length, created, keep-until.
	messageRecordLen = 1 + 32 + 8 + 8 + 4 + timeLen + 32 + 4 + timeLen + timeLen
	indexRecordLen   = 1 + 8
	tombRecordLen    = 1 + timeLen
	pendingRecordLen = 1 + 1
)

// Reasons a body is pending (the second byte of a pending record).
const (
	pendingStaged  = 1 // a Delivery is writing it (or crashed while it did)
	pendingDeleted = 2 // its mail was deleted; the chunks await purging
)

// stored is a decoded message record: what List reports plus where the body
// lives.
type stored struct {
	Message
	body      uint64 // body ID: chunks live under 'b' body(8) chunk(4)
	chunkSize int    // every chunk but the last is exactly this long
}

// chunks returns how many chunks the body has.
func (s stored) chunks() int64 {
	return (s.Size + int64(s.chunkSize) - 1) / int64(s.chunkSize)
}

// chunkLen returns the length chunk i must have.
func (s stored) chunkLen(i int64) int {
	return int(min(int64(s.chunkSize), s.Size-i*int64(s.chunkSize)))
}

func corrupt(what, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, what, fmt.Sprintf(format, args...))
}

func putTime(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b, uint64(t.Unix()))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
}

func getTime(b []byte) (time.Time, bool) {
	sec := int64(binary.BigEndian.Uint64(b))
	nsec := binary.BigEndian.Uint32(b[8:])
	if nsec >= 1e9 {
		return time.Time{}, false
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if sec == zeroUnix && nsec == 0 {
		t = time.Time{}
	}
	return t, true
}

// zeroUnix is time.Time{}.Unix(), so the zero time survives a round trip as
// the zero time.
var zeroUnix = time.Time{}.Unix()

func encodeMessage(s stored) []byte {
	b := make([]byte, messageRecordLen)
	b[0] = recordV1
	p := b[1:]
	p = p[copy(p, s.Envelope[:]):]
	binary.BigEndian.PutUint64(p, s.body)
	binary.BigEndian.PutUint64(p[8:], uint64(s.Size))
	binary.BigEndian.PutUint32(p[16:], uint32(s.chunkSize))
	putTime(p[20:], s.Received)
	p = p[20+timeLen:]
	p = p[copy(p, s.Meta.Sender[:]):]
	binary.BigEndian.PutUint32(p, uint32(s.Meta.PathLength))
	putTime(p[4:], s.Meta.Created)
	putTime(p[4+timeLen:], s.Meta.KeepUntil)
	return b
}

// decodeMessage decodes the message record stored under seq.
func decodeMessage(seq uint64, b []byte) (stored, error) {
	var s stored
	if len(b) != messageRecordLen {
		return s, corrupt("message record", "%d bytes, want %d", len(b), messageRecordLen)
	}
	if b[0] != recordV1 {
		return s, corrupt("message record", "version %d", b[0])
	}
	p := b[1:]
	p = p[copy(s.Envelope[:], p):]
	s.body = binary.BigEndian.Uint64(p)
	size := binary.BigEndian.Uint64(p[8:])
	chunk := binary.BigEndian.Uint32(p[16:])
	received, ok1 := getTime(p[20:])
	p = p[20+timeLen:]
	p = p[copy(s.Meta.Sender[:], p):]
	path := binary.BigEndian.Uint32(p)
	created, ok2 := getTime(p[4:])
	keep, ok3 := getTime(p[4+timeLen:])
	switch {
	case size > maxStoredSize:
		return s, corrupt("message record", "size %d", size)
	case chunk == 0 || chunk > maxChunkSize:
		return s, corrupt("message record", "chunk size %d", chunk)
	case path > MaxPathLength:
		return s, corrupt("message record", "path length %d", path)
	case !ok1 || !ok2 || !ok3:
		return s, corrupt("message record", "bad time")
	}
	s.Seq = seq
	s.UID = s.Envelope.UID()
	s.Size = int64(size)
	s.chunkSize = int(chunk)
	s.Received = received
	s.Meta.PathLength = int(path)
	s.Meta.Created = created
	s.Meta.KeepUntil = keep
	return s, nil
}

func encodeIndex(seq uint64) []byte {
	b := make([]byte, indexRecordLen)
	b[0] = recordV1
	binary.BigEndian.PutUint64(b[1:], seq)
	return b
}

func decodeIndex(b []byte) (uint64, error) {
	if len(b) != indexRecordLen {
		return 0, corrupt("index record", "%d bytes, want %d", len(b), indexRecordLen)
	}
	if b[0] != recordV1 {
		return 0, corrupt("index record", "version %d", b[0])
	}
	seq := binary.BigEndian.Uint64(b[1:])
	if seq == 0 {
		return 0, corrupt("index record", "seq 0")
	}
	return seq, nil
}

func encodeTomb(keepUntil time.Time) []byte {
	b := make([]byte, tombRecordLen)
	b[0] = recordV1
	putTime(b[1:], keepUntil)
	return b
}

func decodeTomb(b []byte) (time.Time, error) {
	if len(b) != tombRecordLen {
		return time.Time{}, corrupt("tombstone", "%d bytes, want %d", len(b), tombRecordLen)
	}
	if b[0] != recordV1 {
		return time.Time{}, corrupt("tombstone", "version %d", b[0])
	}
	t, ok := getTime(b[1:])
	if !ok {
		return time.Time{}, corrupt("tombstone", "bad time")
	}
	return t, nil
}

func encodePending(reason byte) []byte { return []byte{recordV1, reason} }

func decodePending(b []byte) (byte, error) {
	if len(b) != pendingRecordLen {
		return 0, corrupt("pending record", "%d bytes, want %d", len(b), pendingRecordLen)
	}
	if b[0] != recordV1 {
		return 0, corrupt("pending record", "version %d", b[0])
	}
	if b[1] != pendingStaged && b[1] != pendingDeleted {
		return 0, corrupt("pending record", "reason %d", b[1])
	}
	return b[1], nil
}

func encodeCounter(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func decodeCounter(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, corrupt("counter", "%d bytes, want 8", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
