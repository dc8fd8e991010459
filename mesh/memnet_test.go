package mesh

import (
	"bytes"
	"testing"
	"time"
)

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

// frameRecorder is a Handler that copies each frame it gets and borrows
// them or not.
type frameRecorder struct {
	borrow bool
	got    [][]byte
}

func (r *frameRecorder) HandleFrame(_ FriendKey, f []byte) { r.got = append(r.got, bytes.Clone(f)) }
func (r *frameRecorder) HandleOnline(FriendKey, bool)      {}
func (r *frameRecorder) BorrowsFrame([]byte) bool          { return r.borrow }

// memPair is two online friends on a virtual-clock MemNetwork, connected.
func memPair(t *testing.T, h Handler) (*VirtualClock, *MemNetwork, *MemTransport, *MemTransport) {
	t.Helper()
	clock := NewVirtualClock(epoch2030)
	net := NewMemNetwork(clock, MemConfig{Latency: 10 * time.Millisecond, ConnectDelay: time.Second})
	var a, b FriendKey
	a[0], b[0] = 1, 2
	ta, tb := net.Transport(a), net.Transport(b)
	tb.SetHandler(h)
	net.Befriend(a, b)
	net.SetOnline(a, true)
	net.SetOnline(b, true)
	clock.RunUntil(clock.Now().Add(2 * time.Second))
	return clock, net, ta, tb
}

func TestMemNetworkReusesFrameBuffers(t *testing.T) {
	for _, borrow := range []bool{true, false} {
		r := &frameRecorder{borrow: borrow}
		clock, _, ta, tb := memPair(t, r)
		buf := append(ta.FrameBuffer(100), "one frame"...)
		if err := ta.Send(tb.Key(), buf); err != nil {
			t.Fatal(err)
		}
		clock.RunUntil(clock.Now().Add(time.Second))
		if len(r.got) != 1 || string(r.got[0]) != "one frame" {
			t.Fatalf("borrow %v: handler got %q, want one frame", borrow, r.got)
		}
		next := ta.FrameBuffer(100)
		if reused := &next[:1][0] == &buf[:1][0]; reused != borrow {
			t.Errorf("borrow %v: the delivered frame's buffer reused: %v", borrow, reused)
		}
	}
}

func TestMemNetworkReusesLostFrameBuffers(t *testing.T) {
	r := &frameRecorder{}
	clock, net, ta, tb := memPair(t, r)
	buf := append(ta.FrameBuffer(100), "lost"...)
	if err := ta.Send(tb.Key(), buf); err != nil {
		t.Fatal(err)
	}
	net.SetOnline(tb.Key(), false) // before the frame arrives
	clock.RunUntil(clock.Now().Add(time.Second))
	if len(r.got) != 0 {
		t.Fatalf("handler got %q from a link that went down", r.got)
	}
	if next := ta.FrameBuffer(100); &next[:1][0] != &buf[:1][0] {
		t.Error("a lost frame's buffer is not reused")
	}
	if s := net.Stats(); s.Lost != 1 {
		t.Errorf("Lost = %d, want 1", s.Lost)
	}
}

func TestNodeBorrowsAllButEnvelopes(t *testing.T) {
	var n Node
	for _, tc := range []struct {
		frame []byte
		want  bool
	}{
		{encodeHello(nil, 1), true},
		{encodeOffer(1, []offerItem{{hops: 1}}), true},
		{encodeRequest(nil, 1, nil, nil), true},
		{encodeAcks(nil, nil), true},
		{encodeEnvelope(make([]byte, 40), 1), false},
		{nil, true},
	} {
		if got := n.BorrowsFrame(tc.frame); got != tc.want {
			t.Errorf("BorrowsFrame(%q) = %v, want %v", FrameKind(tc.frame), got, tc.want)
		}
	}
}
