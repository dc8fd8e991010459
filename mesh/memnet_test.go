package mesh

import (
	"bytes"
	"testing"
	"time"
)

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
