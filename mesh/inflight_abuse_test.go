package mesh

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// Two friends cannot fill MaxInflight between them. mallory2 takes its
// MaxInflightPerFriend requests and never answers; mallory offers what
// mallory2 offers too, then answers the node's requests with forged acks,
// so that each becomes a record waiting for mallory2. Such records used to
// count towards MaxInflight, and seven rounds filled it: the node then
// deferred every offer, its own mail included, for as long as the two
// kept it up. Now waiting records count only towards what may wait for
// mallory2 (MaxInflightPerFriend), and honest mail is asked for at once.
func TestForgedAcksCannotPinInflight(t *testing.T) {
	cfg := testConfig()
	clock := NewVirtualClock(epoch2030)
	tr := &blockTransport{}
	var keys []FriendKey
	for _, name := range []string{"mallory", "mallory2", "honest"} {
		k := keyFor(name).Public
		keys = append(keys, k)
		tr.friends = append(tr.friends, Friend{Key: k, Online: true})
	}
	n, err := NewNode(cfg, Deps{Identity: keyFor("victim"), Transport: tr, Store: NewMemStore(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		n.HandleFrame(k, encodeHello(nil, uint32(i+1)))
	}
	m, m2, honest := keys[0], keys[1], keys[2]
	exp := clock.Now().Add(cfg.MaxLifetime).Unix()
	junk := func(set, i int) envelope.ID {
		var id envelope.ID
		binary.BigEndian.PutUint32(id[:], uint32(set))
		binary.BigEndian.PutUint32(id[4:], uint32(i))
		id[31] = 0x55
		return id
	}
	offer := func(from FriendKey, set int) {
		items := make([]offerItem, cfg.MaxInflightPerFriend)
		for i := range items {
			items[i] = offerItem{id: junk(set, i), hops: 3, size: 700, expiry: exp}
		}
		n.HandleFrame(from, encodeOffer(uint32(set+1), items))
	}
	offer(m2, 100) // mallory2 at its limit, for good
	for round := range cfg.MaxInflight/cfg.MaxInflightPerFriend - 1 {
		offer(m, round)
		offer(m2, round)
		acks := make([]envelope.Ack, cfg.MaxInflightPerFriend)
		for i := range acks {
			acks[i] = envelope.Ack{ID: junk(round, i)} // forged
		}
		n.HandleFrame(m, encodeAcks(nil, acks))
	}
	if got, most := n.Stats().Inflight, 2*cfg.MaxInflightPerFriend; got > most {
		t.Errorf("two friends hold %d requests in flight, want at most %d", got, most)
	}

	ks := envelope.NewKeyring(envelope.Config{Identity: keyFor("alice")})
	now := clock.Now()
	e, err := ks.Seal(envelope.SealParams{To: keyFor("victim").Public, Body: []byte("hi"), Created: now, Expiry: now.Add(7 * 24 * time.Hour), Hops: 4})
	if err != nil {
		t.Fatal(err)
	}
	env := e.Encode()
	id := envelope.ComputeID(env)
	n.HandleFrame(honest, encodeOffer(9, []offerItem{{id: id, hops: 3, size: uint32(len(env)), expiry: e.Expiry}}))
	if got := tr.requested(honest, id); got != 1 {
		t.Fatalf("an honest friend's offer of mail for the node was requested %d times, want at once", got)
	}
}
