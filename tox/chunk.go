package tox

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Mesh frames travel in lossless custom packets, which libtoxcore delivers
// reliably and in order on each friend connection. A frame is cut into
// chunks:
//
//	first chunk    [160] [length u32, big-endian] [up to 1368 bytes]
//	next chunks    [161] [up to 1372 bytes]
//
// A receiver reassembles one frame at a time per friend. A frame cut off by
// a disconnect is discarded (the mesh offers its envelope again later); a
// continuation without a start, a start in the middle of a frame, or a
// length above the limit is an error that discards the partial frame.
//
// A third packet, [162] alone, is the transport's announcement: it goes
// once on every new connection, before any frame, so that a friend knows a
// toxmail node is there even while that node's mesh is still starting
// (opening its stores), and does not take it for a plain Tox client.
const (
	pktFrameStart = 160 // first chunk of a mesh frame
	pktFrameMore  = 161 // continuation chunk
	pktPresent    = 162 // "a toxmail transport is here"

	chunkStartHeader = 5
	chunkMoreHeader  = 1
)

// errChunk is wrapped by every reassembly error.
var errChunk = errors.New("tox: bad mesh chunk")

// isMeshPacket reports whether a lossless packet belongs to the mesh.
func isMeshPacket(p []byte) bool {
	return len(p) > 0 && (p[0] == pktFrameStart || p[0] == pktFrameMore)
}

// sendQueue is one friend's outgoing frames and how far the first has gone.
type sendQueue struct {
	frames [][]byte
	off    int // bytes of frames[0] already sent
	bytes  int // bytes queued and not yet sent, all frames
}

func (q *sendQueue) push(frame []byte) {
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
}

// empty reports whether nothing is left to send.
func (q *sendQueue) empty() bool { return len(q.frames) == 0 }

// next writes the next packet into buf (at least MaxCustomPacket bytes)
// and returns it, without consuming it.
func (q *sendQueue) next(buf []byte) []byte {
	f := q.frames[0]
	if q.off == 0 {
		buf[0] = pktFrameStart
		binary.BigEndian.PutUint32(buf[1:], uint32(len(f)))
		n := copy(buf[chunkStartHeader:MaxCustomPacket], f)
		return buf[:chunkStartHeader+n]
	}
	buf[0] = pktFrameMore
	n := copy(buf[chunkMoreHeader:MaxCustomPacket], f[q.off:])
	return buf[:chunkMoreHeader+n]
}

// advance consumes the packet next returned; it reports whether a whole
// frame has now been sent.
func (q *sendQueue) advance(pkt []byte) bool {
	n := len(pkt) - chunkMoreHeader
	if pkt[0] == pktFrameStart {
		n = len(pkt) - chunkStartHeader
	}
	q.off += n
	q.bytes -= n
	if q.off < len(q.frames[0]) {
		return false
	}
	q.frames[0] = nil
	q.frames = q.frames[1:]
	q.off = 0
	if len(q.frames) == 0 {
		q.frames = nil
	}
	return true
}

// drop forgets everything queued; it returns how many frames were lost.
func (q *sendQueue) drop() int {
	n := len(q.frames)
	*q = sendQueue{}
	return n
}

// reassembler rebuilds one friend's frames from chunks.
type reassembler struct {
	max  int    // largest frame accepted
	buf  []byte // the frame being rebuilt
	need int    // bytes still expected; 0 when idle
}

// add takes one mesh packet. It returns a whole frame when pkt completes
// one, nil while a frame is incomplete, and an error (wrapping errChunk)
// for a chunk that cannot belong to a frame; the partial frame is then
// discarded.
func (r *reassembler) add(pkt []byte) ([]byte, error) {
	switch {
	case len(pkt) == 0:
		return nil, fmt.Errorf("%w: empty packet", errChunk)
	case pkt[0] == pktFrameStart:
		lost := r.need > 0
		r.reset()
		if len(pkt) < chunkStartHeader {
			return nil, fmt.Errorf("%w: start chunk of %d bytes", errChunk, len(pkt))
		}
		n := int(binary.BigEndian.Uint32(pkt[1:]))
		data := pkt[chunkStartHeader:]
		switch {
		case n == 0 || n > r.max:
			return nil, fmt.Errorf("%w: frame length %d outside 1..%d", errChunk, n, r.max)
		case len(data) > n:
			return nil, fmt.Errorf("%w: start chunk carries %d bytes of a %d-byte frame", errChunk, len(data), n)
		case len(data) < n && len(data) != MaxCustomPacket-chunkStartHeader:
			return nil, fmt.Errorf("%w: short start chunk (%d bytes) of a %d-byte frame", errChunk, len(data), n)
		}
		if len(data) == n {
			f := append([]byte(nil), data...)
			if lost {
				return f, fmt.Errorf("%w: frame interrupted by a new one", errChunk)
			}
			return f, nil
		}
		// Grow with what arrives, not with what the first chunk claims:
		// a friend cannot make us allocate by sending lengths alone.
		r.buf = make([]byte, 0, min(n, 64<<10))
		r.buf = append(r.buf, data...)
		r.need = n - len(data)
		if lost {
			return nil, fmt.Errorf("%w: frame interrupted by a new one", errChunk)
		}
		return nil, nil
	case pkt[0] == pktFrameMore:
		data := pkt[chunkMoreHeader:]
		switch {
		case r.need == 0:
			return nil, fmt.Errorf("%w: continuation without a start", errChunk)
		case len(data) > r.need:
			r.reset()
			return nil, fmt.Errorf("%w: continuation overruns the frame", errChunk)
		case len(data) < r.need && len(data) != MaxCustomPacket-chunkMoreHeader:
			r.reset()
			return nil, fmt.Errorf("%w: short continuation (%d bytes) inside a frame", errChunk, len(data))
		}
		r.buf = append(r.buf, data...)
		r.need -= len(data)
		if r.need > 0 {
			return nil, nil
		}
		f := r.buf
		r.buf = nil
		return f, nil
	}
	return nil, fmt.Errorf("%w: packet id %d", errChunk, pkt[0])
}

// reset discards a partial frame; it reports whether there was one.
func (r *reassembler) reset() bool {
	had := r.need > 0
	r.buf, r.need = nil, 0
	return had
}
