package mesh

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// discardTransport accepts every frame and drops it.
type discardTransport struct {
	friends []Friend
	frames  int
}

func (d *discardTransport) Friends() []Friend                 { return d.friends }
func (d *discardTransport) Send(to FriendKey, f []byte) error { d.frames++; return nil }
func (d *discardTransport) SetHandler(Handler)                {}

// benchRelayNode returns a started relay node with 20 online mesh friends
// on a virtual clock, and a sealed envelope of bodySize.
func benchRelayNode(b *testing.B, bodySize int, budget int64) (*Node, *VirtualClock, *discardTransport, []FriendKey, []byte) {
	clock := NewVirtualClock(epoch2030)
	tr := &discardTransport{}
	var keys []FriendKey
	for i := 0; i < 20; i++ {
		k := keyFor(string(rune('a' + i))).Public
		keys = append(keys, k)
		tr.friends = append(tr.friends, Friend{Key: k, Online: true})
	}
	cfg := DefaultConfig()
	cfg.MaxHeldBytes = budget
	cfg.FriendShare = 1
	cfg.DedupeSize = 1 << 16
	n, err := NewNode(cfg, Deps{Identity: keyFor("relay"), Transport: tr, Store: NewMemStore(), Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(); err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		n.HandleFrame(k, encodeHello(nil, 7))
	}
	sender := envelope.NewKeyring(envelope.Config{Identity: keyFor("sender")})
	e, err := sender.Seal(envelope.SealParams{To: keyFor("far away").Public, Body: make([]byte, bodySize),
		Created: clock.Now(), Expiry: clock.Now().Add(72 * time.Hour), Hops: 4})
	if err != nil {
		b.Fatal(err)
	}
	return n, clock, tr, keys, encodeEnvelope(e.Encode(), 3)
}

// BenchmarkRelayDecision: one op is one incoming envelope frame, new to the
// node, taken through strict header decode, ID (SHA-256 over the whole
// envelope, to check the body matches the ID), dedupe (held and ack maps,
// LRU, the store's seen set), the budget check, the hold in a MemStore, and
// offers queued to the 19 other online friends. Offer frames go out every
// 256 envelopes (the virtual clock moves past OfferDelay), so encoding and
// sending them is included. No public-key cryptography is on this path.
//
// min is the smallest envelope (648 bytes), 1KiB the envelope of a 1 KiB
// mail; full runs with the budget full, so each new envelope also evicts
// the copy expiring first.
func BenchmarkRelayDecision(b *testing.B) {
	for _, c := range []struct {
		name   string
		body   int
		budget int64
	}{{"min", 0, 1 << 40}, {"1KiB", 1024, 1 << 40}, {"min/full", 0, 16 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			n, clock, tr, keys, frame := benchRelayNode(b, c.body, c.budget)
			b.SetBytes(int64(len(frame) - 2))
			var ctr uint64
			for b.Loop() {
				ctr++
				// A fresh envelope: change the nonce, so the ID changes.
				binary.BigEndian.PutUint64(frame[2+92:], ctr)
				n.HandleFrame(keys[ctr%20], frame)
				if ctr%256 == 0 {
					clock.Advance(time.Second)
				}
			}
			s := n.Stats()
			if s.Relayed != ctr || s.Duplicates != 0 {
				b.Fatalf("relayed %d of %d (duplicates %d)", s.Relayed, ctr, s.Duplicates)
			}
			b.ReportMetric(float64(tr.frames)/float64(ctr), "frames/op")
		})
	}
	b.Run("duplicate", func(b *testing.B) {
		n, _, _, keys, frame := benchRelayNode(b, 1024, 1<<40)
		n.HandleFrame(keys[0], frame)
		var ctr int
		for b.Loop() {
			ctr++
			n.HandleFrame(keys[ctr%20], frame)
		}
		if s := n.Stats(); s.Duplicates != uint64(ctr) {
			b.Fatalf("duplicates %d, want %d", s.Duplicates, ctr)
		}
	})
}

// BenchmarkOfferDecision: one op is one offered ID, in offer frames of 256,
// for IDs the node has already seen (held, acked or in the seen set): the
// flood's common case, where the answer is "I have it". Decode, look-ups,
// and the request frame that answers each offer frame are included.
func BenchmarkOfferDecision(b *testing.B) {
	n, clock, _, keys, frame := benchRelayNode(b, 0, 1<<40)
	const batch = 256
	var frames [][]byte
	for f := 0; f < 64; f++ {
		items := make([]offerItem, batch)
		for i := range items {
			binary.BigEndian.PutUint64(frame[2+92:], uint64(f*batch+i+1))
			n.HandleFrame(keys[0], frame) // the node holds it now
			items[i] = offerItem{id: envelope.ComputeID(frame[2:]), hops: 2, size: uint32(len(frame) - 2), expiry: clock.Now().Add(time.Hour).Unix()}
		}
		frames = append(frames, encodeOffer(uint32(f+1), items))
	}
	clock.Advance(time.Second)
	before := n.Stats().RequestsOut
	var ops int
	for b.Loop() {
		n.HandleFrame(keys[1+ops%19], frames[ops%len(frames)])
		ops++
	}
	if s := n.Stats(); s.RequestsOut != before {
		b.Fatalf("requested %d already-held envelopes", s.RequestsOut-before)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops*batch), "ns/offer")
	b.ReportMetric(float64(ops*batch)/b.Elapsed().Seconds(), "offers/s")
}
