package sim

import (
	"testing"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// TestStoreKeepsEvictedAckHash: the simulated store keeps an evicted
// envelope's ack hash, as the node's stores do, until an ack replaces it
// or its seen entry expires; another node's store does not see it.
func TestStoreKeepsEvictedAckHash(t *testing.T) {
	w := &world{catalog: newCatalog(), clock: mesh.NewVirtualClock(Epoch)}
	a, b := &store{w: w}, &store{w: w}
	id := envelope.ID{7}
	hash := [envelope.AckHashSize]byte{9}
	apply := func(s *store, ops ...mesh.Op) {
		t.Helper()
		if err := s.Apply(&mesh.Batch{Ops: ops}); err != nil {
			t.Fatal(err)
		}
	}
	meta := mesh.HeldMeta{ID: id, Expiry: 100, AckHash: hash, Size: 10}
	apply(a, mesh.Op{Kind: mesh.OpPutHeld, ID: id, Meta: meta, Env: make([]byte, 10)})
	apply(b, mesh.Op{Kind: mesh.OpPutHeld, ID: id, Meta: meta, Env: make([]byte, 10)})
	apply(a, mesh.Op{Kind: mesh.OpEvict, ID: id, Meta: meta})
	if h, exp, ok, _ := a.EvictedAckHash(id); !ok || h != hash || exp != 100 {
		t.Fatalf("after Evict: %x, %d, %v; want the hash, 100, true", h[:1], exp, ok)
	}
	if _, err := a.Envelope(id); err == nil {
		t.Error("the evicted envelope is still held")
	}
	if _, _, ok, _ := b.EvictedAckHash(id); ok {
		t.Error("another node's store has the hash")
	}
	apply(a, mesh.Op{Kind: mesh.OpPutAck, ID: id, Ack: mesh.AckRecord{Ack: envelope.Ack{ID: id}, Expiry: 100}})
	if _, _, ok, _ := a.EvictedAckHash(id); ok {
		t.Error("the hash outlived the ack")
	}
	apply(b, mesh.Op{Kind: mesh.OpEvict, ID: id, Meta: meta})
	if _, err := b.Expire(100, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := b.EvictedAckHash(id); ok {
		t.Error("the hash outlived its seen entry")
	}
}
