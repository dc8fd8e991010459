package mesh

import (
	"errors"
	"math"
	"sync"

	"github.com/toxmail/toxmail/envelope"
)

// MemStore is a Store in memory: for tests and the simulator. It loses
// everything when the process ends. It is safe for concurrent use.
//
// One map holds a record per envelope ID (seen expiry, held copy, ack), so
// that holding a new envelope costs one map insert; Expire walks the map,
// but returns at once while nothing can have expired.
type MemStore struct {
	mu     sync.Mutex
	ids    map[envelope.ID]*memRec
	outbox map[envelope.ID]OutboxEntry
	minExp int64 // no record expires before this
	closed bool
}

// memRec is everything a MemStore knows about one envelope ID.
type memRec struct {
	seen int64    // seen-set expiry; 0 when not in the seen set
	env  []byte   // the held envelope; nil when not held
	meta HeldMeta // valid while env is not nil
	ack  *AckRecord
	// evicted is the ack hash an evict operation kept, while seen lasts.
	evicted *[envelope.AckHashSize]byte
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		ids:    make(map[envelope.ID]*memRec),
		outbox: make(map[envelope.ID]OutboxEntry),
		minExp: math.MaxInt64,
	}
}

var errClosed = errors.New("mesh: store is closed")

// Apply implements Store. Envelope bytes are copied.
func (s *MemStore) Apply(b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	// Validate first so that a bad batch changes nothing.
	for i := range b.Ops {
		op := &b.Ops[i]
		if err := badgerCheckOp(op); err != nil {
			return err
		}
		if op.Kind == OpSetHops && !s.heldBefore(b, i, op.ID) {
			return ErrNotFound
		}
	}
	for i := range b.Ops {
		op := &b.Ops[i]
		switch op.Kind {
		case OpPutHeld:
			r := s.rec(op.ID)
			r.meta, r.env = op.Meta, append([]byte(nil), op.Env...)
			s.markSeen(r, op.Meta.Expiry)
		case OpDeleteHeld:
			if r := s.ids[op.ID]; r != nil {
				r.env, r.meta = nil, HeldMeta{}
			}
		case OpSetHops:
			r := s.ids[op.ID]
			env := append([]byte(nil), r.env...) // callers may still read the old slice
			envelope.SetHops(env, op.Hops)
			r.env, r.meta.Hops = env, op.Hops
		case OpMarkSeen:
			s.markSeen(s.rec(op.ID), op.Expiry)
		case OpEvict:
			r := s.rec(op.ID)
			h := op.Meta.AckHash
			r.env, r.meta, r.evicted = nil, HeldMeta{}, &h
			s.markSeen(r, op.Meta.Expiry)
		case OpPutAck:
			r := s.rec(op.ID)
			a := op.Ack
			r.ack, r.evicted = &a, nil // the ack answers for an evicted copy now
			s.markSeen(r, a.Expiry)
		case OpPutOutbox:
			s.outbox[op.ID] = op.Outbox
		}
	}
	return nil
}

func (s *MemStore) rec(id envelope.ID) *memRec {
	r := s.ids[id]
	if r == nil {
		r = &memRec{}
		s.ids[id] = r
	}
	return r
}

// heldBefore reports whether id is held once the operations of b before
// index before have been applied.
func (s *MemStore) heldBefore(b *Batch, before int, id envelope.ID) bool {
	for i := before - 1; i >= 0; i-- {
		if op := &b.Ops[i]; op.ID == id {
			switch op.Kind {
			case OpPutHeld:
				return true
			case OpDeleteHeld, OpEvict:
				return false
			}
		}
	}
	r := s.ids[id]
	return r != nil && r.env != nil
}

func (s *MemStore) markSeen(r *memRec, exp int64) {
	if r.seen == 0 || exp > r.seen {
		r.seen = exp
	}
	s.minExp = min(s.minExp, exp)
}

// Envelope implements Store. The returned slice must not be modified.
func (s *MemStore) Envelope(id envelope.ID) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	r := s.ids[id]
	if r == nil || r.env == nil {
		return nil, ErrNotFound
	}
	return r.env, nil
}

// Seen implements Store.
func (s *MemStore) Seen(id envelope.ID) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, errClosed
	}
	r := s.ids[id]
	return r != nil && r.seen != 0, nil
}

// EvictedAckHash implements Store.
func (s *MemStore) EvictedAckHash(id envelope.ID) ([envelope.AckHashSize]byte, int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return [envelope.AckHashSize]byte{}, 0, false, errClosed
	}
	r := s.ids[id]
	if r == nil || r.seen == 0 || r.evicted == nil {
		return [envelope.AckHashSize]byte{}, 0, false, nil
	}
	return *r.evicted, r.seen, true, nil
}

// Load implements Store. It walks a snapshot taken under the lock and
// calls the functions without it, so they may call the store.
func (s *MemStore) Load(held func(HeldMeta) error, ack func(AckRecord) error, outbox func(OutboxEntry) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	var (
		metas   []HeldMeta
		acks    []AckRecord
		entries []OutboxEntry
	)
	for _, r := range s.ids {
		if held != nil && r.env != nil {
			metas = append(metas, r.meta)
		}
		if ack != nil && r.ack != nil {
			acks = append(acks, *r.ack)
		}
	}
	if outbox != nil {
		entries = make([]OutboxEntry, 0, len(s.outbox))
		for _, o := range s.outbox {
			entries = append(entries, o)
		}
	}
	s.mu.Unlock()
	for _, m := range metas {
		if err := held(m); err != nil {
			return err
		}
	}
	for _, a := range acks {
		if err := ack(a); err != nil {
			return err
		}
	}
	for _, o := range entries {
		if err := outbox(o); err != nil {
			return err
		}
	}
	return nil
}

// Expire implements Store.
func (s *MemStore) Expire(now, retention int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	n := 0
	if now >= s.minExp {
		s.minExp = math.MaxInt64
		for id, r := range s.ids {
			if r.env != nil && r.meta.Expiry <= now {
				r.env, r.meta = nil, HeldMeta{}
				n++
			}
			if r.ack != nil && r.ack.Expiry <= now {
				r.ack = nil
				n++
			}
			if r.seen != 0 && r.seen <= now {
				r.seen, r.evicted = 0, nil
				n++
			}
			if r.env == nil && r.ack == nil && r.seen == 0 {
				delete(s.ids, id)
				continue
			}
			for _, e := range [...]int64{r.seen, heldExpiry(r), ackExpiry(r)} {
				if e != 0 {
					s.minExp = min(s.minExp, e)
				}
			}
		}
	}
	cutoff := badgerSubSat(now, retention) // now - retention without overflow
	for id, o := range s.outbox {
		if o.Expiry <= cutoff {
			delete(s.outbox, id)
			n++
		}
	}
	return n, nil
}

// Close implements Store.
func (s *MemStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func heldExpiry(r *memRec) int64 {
	if r.env == nil {
		return 0
	}
	return r.meta.Expiry
}

func ackExpiry(r *memRec) int64 {
	if r.ack == nil {
		return 0
	}
	return r.ack.Expiry
}
