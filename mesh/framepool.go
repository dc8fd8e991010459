package mesh

import "math/bits"

// framePool keeps frame buffers for reuse, by capacity class: powers of two
// from 8 bytes to maxFrameBuf and the sizes halfway between (8, 12, 16, 24,
// ...), so that a buffer is at most 1.5 times as long as its frame. Larger
// frames are left to the garbage collector. A buffer comes back only once
// nothing reads it. The pool keeps at most maxPooled bytes, so that
// however many frames were in flight at once, the buffers they leave behind
// beyond that go back to the garbage collector.
type framePool struct {
	free  [frameClasses][][]byte
	bytes int // capacity of the buffers in free
}

const (
	frameClasses = 29        // 8 bytes to 8<<14
	maxFrameBuf  = 128 << 10 // a full ack frame
	maxPooled    = 8 << 20
)

// frameClassSize is the capacity of class c's buffers.
func frameClassSize(c int) int {
	if c%2 == 0 {
		return 8 << (c / 2)
	}
	return 12 << (c / 2)
}

// frameClass returns the smallest class whose buffers have room for n
// bytes.
func frameClass(n int) int {
	if n <= 8 {
		return 0
	}
	b := bits.Len(uint(n - 1)) // 1<<(b-1) < n <= 1<<b
	if n <= 3<<(b-2) {
		return 2*b - 7
	}
	return 2*b - 6
}

// get returns an empty buffer with room for n bytes.
func (p *framePool) get(n int) []byte {
	if n > maxFrameBuf {
		return make([]byte, 0, n)
	}
	c := frameClass(n)
	if k := len(p.free[c]); k > 0 {
		b := p.free[c][k-1]
		p.free[c][k-1] = nil
		p.free[c] = p.free[c][:k-1]
		p.bytes -= cap(b)
		return b
	}
	return make([]byte, 0, frameClassSize(c))
}

// put keeps b for reuse if its capacity is that of a class and the pool
// has room; other buffers, not made by get, are left to the garbage
// collector.
func (p *framePool) put(b []byte) {
	n := cap(b)
	if c := frameClass(n); n <= maxFrameBuf && n == frameClassSize(c) && p.bytes+n <= maxPooled {
		p.free[c] = append(p.free[c], b[:0])
		p.bytes += n
	}
}
