package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/toxmail/toxmail/envelope"
)

// Friend protocol, version 1. Every frame starts with a version byte and a
// type byte; all integers are big-endian; decoding is strict (exact lengths,
// bounded counts, no trailing bytes).
//
//	hello    session u32
//	offer    seq u32, n u16, n × { id [32], hops u8, size u32, expiry i64 }
//	request  seq u32, n u16, n × id [32], d u16, d × id [32]
//	envelope the envelope's wire bytes (envelope.ParseHeader checks them)
//	ack      n u16, n × { id [32], secret [32] }
//
// A node sends hello when a friend connects and starts offering once the
// friend's hello arrives. The session is a number the sender picks at start:
// a hello with a new session from a friend we thought connected means it
// restarted, and both sides start over. A node answers an offer only when
// it wants some of the offered IDs now or lacks some but cannot take them
// yet (its request limits are reached): the request carries the offer's
// seq (for tracing; the IDs say all the offerer needs), the n IDs it wants
// and the d IDs it defers, and the offerer offers
// the deferred ones again later. An offer of IDs the receiver has all seen
// is not answered. A request with seq 0 asks for IDs outside any offer (a
// retry). So an envelope's body crosses a link only when the receiving side
// has asked for it.
const (
	ProtocolVersion = 1

	frameHello    = 1
	frameOffer    = 2
	frameRequest  = 3
	frameEnvelope = 4
	frameAck      = 5

	// MaxBatchLimit is the most IDs one offer, request or ack frame carries.
	MaxBatchLimit = 1024

	offerEntrySize = envelope.IDSize + 1 + 4 + 8
)

// ErrFrame is wrapped by every frame decoding error.
var ErrFrame = errors.New("mesh: malformed frame")

type offerItem struct {
	id     envelope.ID
	hops   uint8
	size   uint32
	expiry int64
}

// frameHeader starts a frame of type typ with room for extra more bytes,
// in a buffer from pool or, if pool is nil, a new one.
func frameHeader(pool FramePool, typ byte, extra int) []byte {
	var b []byte
	if pool != nil {
		b = pool.FrameBuffer(2 + extra)[:2]
	} else {
		b = make([]byte, 2, 2+extra)
	}
	b[0], b[1] = ProtocolVersion, typ
	return b
}

func encodeHello(pool FramePool, session uint32) []byte {
	return binary.BigEndian.AppendUint32(frameHeader(pool, frameHello, 4), session)
}

func encodeOffer(seq uint32, items []offerItem) []byte {
	b := offerFrame(nil, seq, len(items))
	for i := range items {
		b = appendOfferEntry(b, &items[i])
	}
	return b
}

// offerFrame starts an offer frame for n entries, leaving room for them.
func offerFrame(pool FramePool, seq uint32, n int) []byte {
	b := frameHeader(pool, frameOffer, 6+n*offerEntrySize)
	b = binary.BigEndian.AppendUint32(b, seq)
	return binary.BigEndian.AppendUint16(b, uint16(n))
}

func appendOfferEntry(b []byte, it *offerItem) []byte {
	n := len(b)
	b = b[:n+offerEntrySize]
	copy(b[n:], it.id[:])
	b[n+32] = it.hops
	binary.BigEndian.PutUint32(b[n+33:], it.size)
	binary.BigEndian.PutUint64(b[n+37:], uint64(it.expiry))
	return b
}

func encodeRequest(pool FramePool, seq uint32, want, deferred []envelope.ID) []byte {
	b := frameHeader(pool, frameRequest, 8+(len(want)+len(deferred))*envelope.IDSize)
	b = binary.BigEndian.AppendUint32(b, seq)
	for _, ids := range [][]envelope.ID{want, deferred} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(ids)))
		for i := range ids {
			b = append(b, ids[i][:]...)
		}
	}
	return b
}

// encodeEnvelope frames env with its hop counter set to hops.
func encodeEnvelope(env []byte, hops uint8) []byte {
	b := append(frameHeader(nil, frameEnvelope, len(env)), env...)
	envelope.SetHops(b[2:], hops)
	return b
}

func encodeAcks(pool FramePool, acks []envelope.Ack) []byte {
	b := frameHeader(pool, frameAck, 2+len(acks)*envelope.AckSize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(acks)))
	for _, a := range acks {
		b = a.AppendBinary(b)
	}
	return b
}

// frameType checks the version and returns the type and payload.
func frameType(f []byte) (byte, []byte, error) {
	if len(f) < 2 {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrFrame, len(f))
	}
	if f[0] != ProtocolVersion {
		return 0, nil, fmt.Errorf("%w: protocol version %d", ErrFrame, f[0])
	}
	if f[1] < frameHello || f[1] > frameAck {
		return 0, nil, fmt.Errorf("%w: unknown type %d", ErrFrame, f[1])
	}
	return f[1], f[2:], nil
}

func decodeHello(p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("%w: hello of %d bytes", ErrFrame, len(p))
	}
	return binary.BigEndian.Uint32(p), nil
}

// decodeCounted reads seq (if withSeq) and a u16 count, and checks that
// exactly count entries of size each follow.
func decodeCounted(p []byte, withSeq bool, size int) (seq uint32, n int, rest []byte, err error) {
	if withSeq {
		if len(p) < 4 {
			return 0, 0, nil, fmt.Errorf("%w: truncated seq", ErrFrame)
		}
		seq, p = binary.BigEndian.Uint32(p), p[4:]
	}
	if len(p) < 2 {
		return 0, 0, nil, fmt.Errorf("%w: truncated count", ErrFrame)
	}
	n, p = int(binary.BigEndian.Uint16(p)), p[2:]
	if n > MaxBatchLimit {
		return 0, 0, nil, fmt.Errorf("%w: %d entries exceed %d", ErrFrame, n, MaxBatchLimit)
	}
	if len(p) != n*size {
		return 0, 0, nil, fmt.Errorf("%w: %d entries need %d bytes, have %d", ErrFrame, n, n*size, len(p))
	}
	return seq, n, p, nil
}

func decodeOffer(p []byte, out []offerItem) (uint32, []offerItem, error) {
	seq, n, p, err := decodeCounted(p, true, offerEntrySize)
	if err != nil {
		return 0, nil, err
	}
	if n == 0 {
		return 0, nil, fmt.Errorf("%w: empty offer", ErrFrame)
	}
	for i := 0; i < n; i++ {
		var it offerItem
		copy(it.id[:], p)
		it.hops = p[32]
		it.size = binary.BigEndian.Uint32(p[33:])
		it.expiry = int64(binary.BigEndian.Uint64(p[37:]))
		out = append(out, it)
		p = p[offerEntrySize:]
	}
	return seq, out, nil
}

// decodeRequest appends the wanted IDs and then the deferred ones to out;
// it returns how many of them are wanted.
func decodeRequest(p []byte, out []envelope.ID) (seq uint32, ids []envelope.ID, nWant int, err error) {
	if len(p) < 6 {
		return 0, nil, 0, fmt.Errorf("%w: truncated request", ErrFrame)
	}
	seq = binary.BigEndian.Uint32(p)
	nWant = int(binary.BigEndian.Uint16(p[4:]))
	p = p[6:]
	if nWant > MaxBatchLimit || len(p) < nWant*envelope.IDSize+2 {
		return 0, nil, 0, fmt.Errorf("%w: request of %d IDs in %d bytes", ErrFrame, nWant, len(p))
	}
	for i := 0; i < nWant; i++ {
		out = append(out, envelope.ID(p[i*envelope.IDSize:]))
	}
	_, nDefer, rest, err := decodeCounted(p[nWant*envelope.IDSize:], false, envelope.IDSize)
	if err != nil {
		return 0, nil, 0, err
	}
	if nWant+nDefer > MaxBatchLimit {
		return 0, nil, 0, fmt.Errorf("%w: %d entries exceed %d", ErrFrame, nWant+nDefer, MaxBatchLimit)
	}
	for i := 0; i < nDefer; i++ {
		out = append(out, envelope.ID(rest[i*envelope.IDSize:]))
	}
	return seq, out, nWant, nil
}

func decodeAcks(p []byte, out []envelope.Ack) ([]envelope.Ack, error) {
	_, n, p, err := decodeCounted(p, false, envelope.AckSize)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty ack", ErrFrame)
	}
	for i := 0; i < n; i++ {
		a, err := envelope.DecodeAck(p[i*envelope.AckSize : (i+1)*envelope.AckSize])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// FrameKind names a frame's type for statistics: "hello", "offer",
// "request", "envelope", "ack", or "bad" for anything that is not a
// version-1 frame.
func FrameKind(f []byte) string {
	typ, _, err := frameType(f)
	if err != nil {
		return "bad"
	}
	return [...]string{frameHello: "hello", frameOffer: "offer", frameRequest: "request", frameEnvelope: "envelope", frameAck: "ack"}[typ]
}

// IsHello reports whether f is a hello frame: session control, not mail.
func IsHello(f []byte) bool { return len(f) >= 2 && f[0] == ProtocolVersion && f[1] == frameHello }

// MaxControlFrame is the largest session frame a peer sends: an ack frame
// of MaxBatchLimit acks (offers and requests of as many IDs are smaller).
const MaxControlFrame = 2 + 2 + MaxBatchLimit*envelope.AckSize

// IsControl reports whether f is a session frame (hello, offer, request or
// ack) of at most MaxControlFrame bytes, rather than an envelope body.
// Losing one stalls a friend's session until it reconnects, while a lost
// body is asked for again, so a transport short of memory should drop
// bodies first.
func IsControl(f []byte) bool {
	return len(f) >= 2 && len(f) <= MaxControlFrame && f[0] == ProtocolVersion &&
		f[1] >= frameHello && f[1] <= frameAck && f[1] != frameEnvelope
}
