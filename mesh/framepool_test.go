package mesh

import "testing"

func TestFramePoolClasses(t *testing.T) {
	for _, tc := range []struct{ n, class int }{
		{0, 0}, {6, 0}, {8, 0}, {9, 1}, {12, 1}, {13, 2}, {17, 3}, {25, 4},
		{42, 5}, {53, 6}, {65, 7}, {97, 8}, {5000, 19}, {6145, 20},
	} {
		if c := frameClass(tc.n); c != tc.class || frameClassSize(c) < tc.n || c > 0 && frameClassSize(c-1) >= tc.n {
			t.Errorf("frameClass(%d) = %d (size %d), want %d", tc.n, c, frameClassSize(c), tc.class)
		}
	}
	for c := range frameClasses {
		if got := frameClass(frameClassSize(c)); got != c {
			t.Errorf("frameClass(%d) = %d, want %d", frameClassSize(c), got, c)
		}
	}
	if frameClassSize(frameClasses-1) != maxFrameBuf {
		t.Errorf("the largest class holds %d bytes, want %d", frameClassSize(frameClasses-1), maxFrameBuf)
	}

	var p framePool
	for _, tc := range []struct{ n, cap int }{{0, 8}, {6, 8}, {100, 128}, {maxFrameBuf + 1, maxFrameBuf + 1}} {
		if b := p.get(tc.n); len(b) != 0 || cap(b) != tc.cap {
			t.Errorf("get(%d) from an empty pool: len %d cap %d, want 0 and %d", tc.n, len(b), cap(b), tc.cap)
		}
	}
	b := p.get(100)
	p.put(append(b, "frame"...))
	if c := p.get(120); &c[:1][0] != &b[:1][0] || len(c) != 0 {
		t.Error("a buffer put back is not the one get returns next, emptied, for a size of its class")
	}
	if c := p.get(100); &c[:1][0] == &b[:1][0] {
		t.Error("get returned a buffer that is already out")
	}
	p.put(make([]byte, 10, 100)) // not of a class's capacity: not the pool's
	p.put(make([]byte, 0, 2*maxFrameBuf))
	if p.bytes != 0 {
		t.Errorf("the pool keeps %d bytes of buffers it did not make", p.bytes)
	}

	// A burst beyond maxPooled bytes is left to the garbage collector.
	burst := make([][]byte, 2*maxPooled/maxFrameBuf)
	for i := range burst {
		burst[i] = p.get(maxFrameBuf)
	}
	for _, b := range burst {
		p.put(b)
	}
	if kept := len(p.free[frameClasses-1]) * maxFrameBuf; kept != maxPooled || p.bytes != maxPooled {
		t.Errorf("after a burst the pool keeps %d bytes (counted %d), want %d", kept, p.bytes, maxPooled)
	}
}
