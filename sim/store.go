package sim

import (
	"math/bits"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// catalog numbers the envelopes of one run and keeps what every node
// holding one shares: its bytes (one copy for the whole network), its
// expiry and, once the recipient has acked it, its ack. A node's store is
// then a few bitsets over these numbers: a flood that reaches 100,000 nodes
// costs 100,000 bits per set, not 100,000 copies of the mail or of its ack.
type catalog struct {
	index map[envelope.ID]int32
	envs  []sealed
	// byExpiry lists envelope numbers by expiry, for Expire.
	byExpiry []int32
}

// sealed is one envelope of the run.
type sealed struct {
	id     envelope.ID
	bytes  []byte // nil once no node holds it
	refs   int32  // nodes holding it
	expiry int64
	ack    *mesh.AckRecord // nil until a node has it
	// ackHash is the envelope's ack hash, once a node has evicted it.
	ackHash [envelope.AckHashSize]byte
}

func newCatalog() *catalog { return &catalog{index: make(map[envelope.ID]int32)} }

// lookup returns the number of id, or -1.
func (c *catalog) lookup(id envelope.ID) int32 {
	if i, ok := c.index[id]; ok {
		return i
	}
	return -1
}

// add returns the number of id, numbering it if it is new.
func (c *catalog) add(id envelope.ID, expiry int64) int32 {
	if i, ok := c.index[id]; ok {
		return i
	}
	i := int32(len(c.envs))
	c.index[id] = i
	c.envs = append(c.envs, sealed{id: id, expiry: expiry})
	// Keep byExpiry sorted; envelopes arrive roughly in expiry order.
	k := len(c.byExpiry)
	c.byExpiry = append(c.byExpiry, i)
	for k > 0 && c.envs[c.byExpiry[k-1]].expiry > expiry {
		c.byExpiry[k], c.byExpiry[k-1] = c.byExpiry[k-1], i
		k--
	}
	return i
}

// hold takes a reference to envelope i's bytes, keeping env as them if
// they are not kept yet.
func (c *catalog) hold(i int32, env []byte) {
	e := &c.envs[i]
	if e.refs == 0 {
		e.bytes = append([]byte(nil), env...)
	}
	e.refs++
}

// release drops a reference; the bytes go with the last one.
func (c *catalog) release(i int32) {
	e := &c.envs[i]
	if e.refs--; e.refs == 0 {
		e.bytes = nil
	}
}

// bitset is a set of envelope numbers.
type bitset []uint64

func (b bitset) has(i int32) bool { return int(i>>6) < len(b) && b[i>>6]&(1<<(i&63)) != 0 }

func (b *bitset) set(i int32) {
	w := int(i >> 6)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (i & 63)
}

func (b bitset) unset(i int32) {
	if int(i>>6) < len(b) {
		b[i>>6] &^= 1 << (i & 63)
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// store is a mesh.Store for one simulated node, with MemStore's semantics
// on the run's catalog: the node's held envelopes, seen set and acks are
// bitsets, its outbox a map made on first use (most nodes send nothing).
// It also keeps the held-bytes accounting the simulator reports. It is
// used by one node, on the simulator's goroutine.
type store struct {
	w    *world
	held bitset
	seen bitset
	acks bitset
	// evicted are the envelopes evicted for budget whose ack hash the
	// store keeps (mesh.Batch.Evict); the hash is in the catalog.
	evicted bitset
	outbox  map[envelope.ID]mesh.OutboxEntry
	bytes   int64 // bytes held now
	peak    int64 // most bytes held at once
	// expired counts the catalog's byExpiry entries already swept here.
	expired int
}

var _ mesh.Store = (*store)(nil)

// Apply implements mesh.Store. The simulator never fails a write.
func (s *store) Apply(b *mesh.Batch) error {
	c := s.w.catalog
	for i := range b.Ops {
		op := &b.Ops[i]
		switch op.Kind {
		case mesh.OpPutHeld:
			k := c.add(op.ID, op.Meta.Expiry)
			if !s.held.has(k) {
				s.held.set(k)
				c.hold(k, op.Env)
				s.addBytes(int64(len(op.Env)))
			}
			s.seen.set(k)
		case mesh.OpDeleteHeld:
			if k := c.lookup(op.ID); k >= 0 && s.held.has(k) {
				s.drop(k)
			}
		case mesh.OpEvict:
			k := c.add(op.ID, op.Meta.Expiry)
			if s.held.has(k) {
				s.drop(k)
			}
			c.envs[k].ackHash = op.Meta.AckHash
			s.evicted.set(k)
			s.seen.set(k)
		case mesh.OpSetHops:
			if k := c.lookup(op.ID); k < 0 || !s.held.has(k) {
				return mesh.ErrNotFound
			}
			// The node keeps the hop counter; the shared bytes keep theirs.
		case mesh.OpMarkSeen:
			s.seen.set(c.add(op.ID, op.Expiry))
		case mesh.OpPutAck:
			k := c.add(op.ID, op.Ack.Expiry)
			if c.envs[k].ack == nil {
				a := op.Ack
				c.envs[k].ack = &a
			}
			s.acks.set(k)
			s.seen.set(k)
			s.evicted.unset(k) // the ack answers for it now
		case mesh.OpPutOutbox:
			if s.outbox == nil {
				s.outbox = make(map[envelope.ID]mesh.OutboxEntry)
			}
			s.outbox[op.ID] = op.Outbox
		}
	}
	return nil
}

// drop forgets held envelope k.
func (s *store) drop(k int32) {
	s.held.unset(k)
	s.addBytes(-int64(len(s.w.catalog.envs[k].bytes)))
	s.w.catalog.release(k)
}

func (s *store) addBytes(d int64) {
	s.bytes += d
	s.peak = max(s.peak, s.bytes)
	s.w.heldChanged(d)
}

// Envelope implements mesh.Store. Like MemStore's, the returned slice must
// not be modified; it is shared by every node holding the envelope, and
// its hop byte is stale (the node sends it with the hops it tracks).
func (s *store) Envelope(id envelope.ID) ([]byte, error) {
	k := s.w.catalog.lookup(id)
	if k < 0 || !s.held.has(k) {
		return nil, mesh.ErrNotFound
	}
	return s.w.catalog.envs[k].bytes, nil
}

// Seen implements mesh.Store.
func (s *store) Seen(id envelope.ID) (bool, error) {
	k := s.w.catalog.lookup(id)
	return k >= 0 && s.seen.has(k), nil
}

// EvictedAckHash implements mesh.Store.
func (s *store) EvictedAckHash(id envelope.ID) ([envelope.AckHashSize]byte, int64, bool, error) {
	c := s.w.catalog
	if k := c.lookup(id); k >= 0 && s.evicted.has(k) && s.seen.has(k) {
		return c.envs[k].ackHash, c.envs[k].expiry, true, nil
	}
	return [envelope.AckHashSize]byte{}, 0, false, nil
}

// Load implements mesh.Store; simulated nodes never restart, so there is
// nothing to load.
func (s *store) Load(func(mesh.HeldMeta) error, func(mesh.AckRecord) error, func(mesh.OutboxEntry) error) error {
	return nil
}

// Expire implements mesh.Store: envelopes of the catalog whose expiry has
// passed leave the held set, the seen set and the acks.
func (s *store) Expire(now, retention int64) (int, error) {
	c := s.w.catalog
	n := 0
	for ; s.expired < len(c.byExpiry); s.expired++ {
		k := c.byExpiry[s.expired]
		if c.envs[k].expiry > now {
			break
		}
		if s.held.has(k) {
			s.drop(k)
			n++
		}
		for _, set := range []bitset{s.seen, s.acks} {
			if set.has(k) {
				set.unset(k)
				n++
			}
		}
		s.evicted.unset(k) // goes with the seen entry
	}
	for id, o := range s.outbox {
		if o.Expiry <= now-retention {
			delete(s.outbox, id)
			n++
		}
	}
	return n, nil
}

// Close implements mesh.Store.
func (s *store) Close() error { return nil }
