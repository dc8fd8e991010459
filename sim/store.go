package sim

import (
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// bodies interns envelope bytes across the whole simulated network: every
// node that holds envelope X refers to one copy of its bytes, and keeps its
// own hop counter. A flood that reaches 50,000 nodes then costs 50,000 small
// records, not 50,000 copies of the mail. The bytes are never modified.
type bodies struct {
	m map[envelope.ID]*body
}

type body struct {
	b    []byte
	refs int
}

func (bs *bodies) ref(id envelope.ID, env []byte) []byte {
	if x := bs.m[id]; x != nil {
		x.refs++
		return x.b
	}
	b := append([]byte(nil), env...)
	bs.m[id] = &body{b: b, refs: 1}
	return b
}

func (bs *bodies) unref(id envelope.ID) {
	if x := bs.m[id]; x != nil {
		if x.refs--; x.refs == 0 {
			delete(bs.m, id)
		}
	}
}

// store is a mesh.Store for one simulated node: MemStore's semantics, with
// envelope bytes shared through bodies, maps made on first use (most of a
// million nodes never hold anything), and the held-bytes accounting the
// simulator reports. It is used by one node, on the simulator's goroutine.
type store struct {
	w      *world
	held   map[envelope.ID]heldRec
	seen   map[envelope.ID]int64
	acks   map[envelope.ID]mesh.AckRecord
	outbox map[envelope.ID]mesh.OutboxEntry
	minExp int64 // no record expires before this (0: nothing stored)
	bytes  int64 // bytes held now
	peak   int64 // most bytes held at once
}

// heldRec is a held envelope: only what Envelope and Expire need. The node
// keeps the rest of HeldMeta in its own index, and a simulated node never
// restarts, so nothing is loaded back; keeping the meta here too would
// double the simulator's memory per held copy.
type heldRec struct {
	env    []byte // shared, read-only; its hop byte is stale
	expiry int64
}

var _ mesh.Store = (*store)(nil)

// Apply implements mesh.Store. The simulator never fails a write.
func (s *store) Apply(b *mesh.Batch) error {
	for i := range b.Ops {
		op := &b.Ops[i]
		switch op.Kind {
		case mesh.OpPutHeld:
			if s.held == nil {
				s.held = make(map[envelope.ID]heldRec)
			}
			if old, ok := s.held[op.ID]; ok {
				s.release(op.ID, old)
			}
			s.held[op.ID] = heldRec{env: s.w.bodies.ref(op.ID, op.Env), expiry: op.Meta.Expiry}
			s.addBytes(int64(len(op.Env)))
			s.markSeen(op.ID, op.Meta.Expiry)
		case mesh.OpDeleteHeld:
			if old, ok := s.held[op.ID]; ok {
				s.release(op.ID, old)
				delete(s.held, op.ID)
			}
		case mesh.OpSetHops:
			if _, ok := s.held[op.ID]; !ok {
				return mesh.ErrNotFound
			}
		case mesh.OpMarkSeen:
			s.markSeen(op.ID, op.Expiry)
		case mesh.OpPutAck:
			if s.acks == nil {
				s.acks = make(map[envelope.ID]mesh.AckRecord)
			}
			s.acks[op.ID] = op.Ack
			s.markSeen(op.ID, op.Ack.Expiry)
		case mesh.OpPutOutbox:
			if s.outbox == nil {
				s.outbox = make(map[envelope.ID]mesh.OutboxEntry)
			}
			s.outbox[op.ID] = op.Outbox
		}
	}
	return nil
}

func (s *store) release(id envelope.ID, r heldRec) {
	s.w.bodies.unref(id)
	s.addBytes(-int64(len(r.env)))
}

func (s *store) addBytes(d int64) {
	s.bytes += d
	s.peak = max(s.peak, s.bytes)
	s.w.heldChanged(d)
}

func (s *store) markSeen(id envelope.ID, exp int64) {
	if s.seen == nil {
		s.seen = make(map[envelope.ID]int64)
	}
	if old, ok := s.seen[id]; !ok || exp > old {
		s.seen[id] = exp
	}
	if s.minExp == 0 || exp < s.minExp {
		s.minExp = exp
	}
}

// Envelope implements mesh.Store. Like MemStore's, the returned slice must
// not be modified; it is shared by every node holding the envelope, and
// its hop byte is stale (the node frames it with the hops it tracks).
func (s *store) Envelope(id envelope.ID) ([]byte, error) {
	r, ok := s.held[id]
	if !ok {
		return nil, mesh.ErrNotFound
	}
	return r.env, nil
}

// Seen implements mesh.Store.
func (s *store) Seen(id envelope.ID) (bool, error) {
	_, ok := s.seen[id]
	return ok, nil
}

// Load implements mesh.Store; simulated nodes never restart, so there is
// nothing to load.
func (s *store) Load(func(mesh.HeldMeta) error, func(mesh.AckRecord) error, func(mesh.OutboxEntry) error) error {
	return nil
}

// Expire implements mesh.Store.
func (s *store) Expire(now, retention int64) (int, error) {
	if s.minExp == 0 || now < s.minExp {
		return 0, nil
	}
	n := 0
	next := int64(0)
	keep := func(exp int64) bool {
		if exp <= now {
			n++
			return false
		}
		if next == 0 || exp < next {
			next = exp
		}
		return true
	}
	// Map order does not matter here: each record is decided on its own.
	for id, r := range s.held {
		if !keep(r.expiry) {
			s.release(id, r)
			delete(s.held, id)
		}
	}
	for id, exp := range s.seen {
		if !keep(exp) {
			delete(s.seen, id)
		}
	}
	for id, a := range s.acks {
		if !keep(a.Expiry) {
			delete(s.acks, id)
		}
	}
	for id, o := range s.outbox {
		if o.Expiry <= now-retention {
			delete(s.outbox, id)
			n++
		}
	}
	s.minExp = next
	return n, nil
}

// Close implements mesh.Store.
func (s *store) Close() error { return nil }
