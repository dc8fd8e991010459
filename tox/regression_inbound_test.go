package tox

import (
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

// gatedHandler blocks the first HandleFrame until gate is closed: a mesh
// that is busy for a moment (a store write, a slow disk).
type gatedHandler struct {
	h    mesh.Handler
	gate chan struct{}
	once sync.Once
}

func (g *gatedHandler) HandleFrame(from mesh.FriendKey, f []byte) {
	g.once.Do(func() { <-g.gate })
	g.h.HandleFrame(from, f)
}
func (g *gatedHandler) HandleOnline(k mesh.FriendKey, on bool) { g.h.HandleOnline(k, on) }

// startMemNode starts a mesh node with a memory store over tr; the test's
// end closes it.
func startMemNode(t *testing.T, tr *Transport) *mesh.Node {
	t.Helper()
	node, err := mesh.NewNode(mesh.DefaultConfig(), mesh.Deps{Identity: mustKeyPair(t), Transport: tr, Store: mesh.NewMemStore(), Mailbox: &meshBox{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

// inject feeds frame to the transport as friend (num, pk) would send it:
// the same chunks the peer's pump would produce, through the lossless
// callback (as on the Tox goroutine).
func inject(tr *Transport, num uint32, pk PublicKey, frame []byte) {
	var q sendQueue
	q.push(frame)
	buf := make([]byte, MaxCustomPacket)
	for !q.empty() {
		p := q.next(buf)
		tr.onFriendLossless(num, pk, append([]byte(nil), p...))
		q.advance(p)
	}
}

func queuedTypes(tr *Transport, pk PublicKey) []byte {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []byte
	for _, f := range tr.byKey[pk].q.frames {
		out = append(out, f[1])
	}
	return out
}

// TestRegressionInboundDropLosesHello: while the mesh is busy, one friend (F1)
// sends big envelopes that fill MaxInbound; F2 connects and its hello (a
// 6-byte frame) is silently dropped. The mesh then never marks F2 ready
// for the whole connection: nothing is ever offered to it, not even mail
// addressed to it.
func TestRegressionInboundDropLosesHello(t *testing.T) {
	for _, drop := range []bool{false, true} {
		name := map[bool]string{false: "control", true: "hello dropped"}[drop]
		t.Run(name, func(t *testing.T) {
			tr := NewTransport(TransportConfig{}) // default MaxInbound 64 MiB
			defer tr.Close()
			f1, f2 := mustKeyPair(t).Public, mustKeyPair(t).Public
			node := startMemNode(t, tr)
			gate := make(chan struct{})
			tr.SetHandler(&gatedHandler{h: node, gate: gate})

			tr.onFriendConnection(0, f1, ConnectionUDP)
			tr.onFriendConnection(1, f2, ConnectionUDP)
			if drop {
				// F1 sends nine 8 MiB envelope frames (content irrelevant:
				// the mesh rejects them later, which does not matter here).
				for i := 0; i < 9; i++ {
					inject(tr, 0, f1, append([]byte{mesh.ProtocolVersion, 4}, make([]byte, 8<<20-2)...))
				}
			}
			hello := binary.BigEndian.AppendUint32([]byte{mesh.ProtocolVersion, 1}, 0x12345678)
			inject(tr, 1, f2, hello)
			st := tr.Stats()
			t.Logf("transport: FramesIn %d InboundDropped %d", st.FramesIn, st.InboundDropped)
			close(gate)
			waitFor(t, 10*time.Second, "dispatch drained", func() bool {
				tr.events.mu.Lock()
				defer tr.events.mu.Unlock()
				return len(tr.events.items) == 0
			})
			if _, err := node.Submit(mesh.Outgoing{To: f2, Body: []byte("Subject: for F2\r\n\r\nhi\r\n")}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // 40 × OfferDelay
			var ready bool
			for _, p := range node.Peers() {
				if p.Key == f2 {
					ready = p.MeshPeer
				}
			}
			types := queuedTypes(tr, f2)
			t.Logf("F2: mesh ready=%v, frame types queued to F2: %v (1 hello, 2 offer)", ready, types)
			offered := false
			for _, ty := range types {
				if ty == 2 {
					offered = true
				}
			}
			if !ready || !offered {
				t.Errorf("mail addressed to F2, which is connected and sent its hello, was never offered to it (ready=%v)", ready)
			}
		})
	}
}

// TestRegressionInboundSmallBodiesBounded: while the mesh is busy, envelope
// bodies under 64 KiB count against MaxInbound like larger ones (all of
// them went past it: 31 MB queued against a 1 MB limit), session frames
// go on into a reserve as large again, and past that nothing is queued.
func TestRegressionInboundSmallBodiesBounded(t *testing.T) {
	const limit = 1 << 20
	var logs pairLockedBuffer
	tr := NewTransport(TransportConfig{MaxInbound: limit, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer tr.Close()
	f := mustKeyPair(t).Public
	node := startMemNode(t, tr)
	gate := make(chan struct{})
	defer close(gate)
	tr.SetHandler(&gatedHandler{h: node, gate: gate})
	tr.onFriendConnection(0, f, ConnectionUDP)
	queued := func() int {
		tr.events.mu.Lock()
		defer tr.events.mu.Unlock()
		return tr.events.bytes
	}
	body := append([]byte{mesh.ProtocolVersion, 4}, make([]byte, 64<<10-3)...) // a body under 64 KiB
	for range 100 {
		inject(tr, 0, f, body)
	}
	if q := queued(); q > limit {
		t.Errorf("%d bytes of envelope bodies queued against a limit of %d", q, limit)
	}
	acks := append([]byte{mesh.ProtocolVersion, 5}, make([]byte, mesh.MaxControlFrame-2)...) // a full batch of acks: over 64 KiB
	for range 100 {
		inject(tr, 0, f, acks)
	}
	if q := queued(); q <= limit || q > 2*limit {
		t.Errorf("%d bytes queued with acks on top, want past the limit of %d but within the reserve", q, limit)
	}
	if st := tr.Stats(); st.InboundDropped == 0 {
		t.Error("nothing was dropped")
	}
	if n := strings.Count(logs.String(), "received data dropped"); n != 1 {
		t.Errorf("the drops were logged %d times, want once (at most once a minute):\n%s", n, logs.String())
	}
}

// What arrives after Close (the daemon closes the transport a moment
// before Tox) is not counted or logged as dropped for a full queue.
func TestRegressionNoDropAfterClose(t *testing.T) {
	var logs pairLockedBuffer
	tr := NewTransport(TransportConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f := mustKeyPair(t).Public
	tr.onFriendConnection(0, f, ConnectionUDP)
	tr.Close()
	inject(tr, 0, f, []byte{mesh.ProtocolVersion, 1, 0, 0, 0, 1})
	tr.onFriendMessage(0, f, MessageNormal, "late")
	if st := tr.Stats(); st.InboundDropped != 0 || st.TextsDropped != 0 {
		t.Errorf("counted as dropped after Close: %+v", st)
	}
	if strings.Contains(logs.String(), "dropped") {
		t.Errorf("logged as dropped after Close:\n%s", logs.String())
	}
}
