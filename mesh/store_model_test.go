package mesh

// The Store state machine: random batches, expiries and reopenings
// checked against a model store (rapid), on every Store implementation.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/toxmail/toxmail/envelope"
)

// stPoolSize is how many distinct IDs the state machine plays with: few, so
// that operations collide.
const stPoolSize = 6

var (
	stPoolOnce sync.Once
	stPoolEnvs [][]byte
	stPoolErr  error
)

// stPool returns stPoolSize sealed envelopes, made once.
func stPool(t testing.TB) [][]byte {
	stPoolOnce.Do(func() {
		kr := stKeyring(t)
		for i := range stPoolSize {
			env, err := kr.Seal(envelope.SealParams{
				To: kr.PublicKey(), Body: []byte(fmt.Sprintf("pool %d", i)),
				Created: time.Unix(1, 0), Expiry: time.Unix(3_000_000_000, 0), Hops: 7,
			})
			if err != nil {
				stPoolErr = err
				return
			}
			stPoolEnvs = append(stPoolEnvs, env.Encode())
		}
	})
	if stPoolErr != nil {
		t.Fatalf("sealing the pool: %v", stPoolErr)
	}
	return stPoolEnvs
}

type stHeld struct {
	meta HeldMeta
	env  []byte
}

// stModel is the specification of a Store, in maps.
type stModel struct {
	held   map[envelope.ID]stHeld
	seen   map[envelope.ID]int64
	acks   map[envelope.ID]AckRecord
	outbox map[envelope.ID]OutboxEntry
	// evicted are the ack hashes evict operations kept, while seen lasts.
	evicted map[envelope.ID][envelope.AckHashSize]byte
}

func (m *stModel) clone() *stModel {
	return &stModel{
		held: maps.Clone(m.held), seen: maps.Clone(m.seen),
		acks: maps.Clone(m.acks), outbox: maps.Clone(m.outbox),
		evicted: maps.Clone(m.evicted),
	}
}

func (m *stModel) markSeen(id envelope.ID, exp int64) {
	if old, ok := m.seen[id]; !ok || exp > old {
		m.seen[id] = exp
	}
}

// apply applies ops all or none.
func (m *stModel) apply(ops []Op) error {
	n := m.clone()
	for _, op := range ops {
		switch op.Kind {
		case OpPutHeld:
			n.held[op.ID] = stHeld{op.Meta, bytes.Clone(op.Env)}
			n.markSeen(op.ID, op.Meta.Expiry)
		case OpDeleteHeld:
			delete(n.held, op.ID)
		case OpEvict:
			delete(n.held, op.ID)
			n.markSeen(op.ID, op.Meta.Expiry)
			n.evicted[op.ID] = op.Meta.AckHash
		case OpSetHops:
			h, ok := n.held[op.ID]
			if !ok {
				return ErrNotFound
			}
			h.meta.Hops = op.Hops
			h.env = bytes.Clone(h.env)
			envelope.SetHops(h.env, op.Hops)
			n.held[op.ID] = h
		case OpMarkSeen:
			n.markSeen(op.ID, op.Expiry)
		case OpPutAck:
			n.acks[op.ID] = op.Ack
			n.markSeen(op.ID, op.Ack.Expiry)
			delete(n.evicted, op.ID)
		case OpPutOutbox:
			n.outbox[op.ID] = op.Outbox
		}
	}
	*m = *n
	return nil
}

func (m *stModel) expire(now, retention int64) int {
	n := 0
	for id, h := range m.held {
		if h.meta.Expiry <= now {
			delete(m.held, id)
			n++
		}
	}
	for id, e := range m.seen {
		if e <= now {
			delete(m.seen, id)
			delete(m.evicted, id)
			n++
		}
	}
	for id, a := range m.acks {
		if a.Expiry <= now {
			delete(m.acks, id)
			n++
		}
	}
	for id, o := range m.outbox {
		if o.Expiry <= now-retention {
			delete(m.outbox, id)
			n++
		}
	}
	return n
}

// stMachine drives a Store and the model side by side.
type stMachine struct {
	t      *testing.T
	store  Store
	model  *stModel
	now    int64
	pool   [][]byte
	ids    []envelope.ID
	reopen func() Store // nil if the store cannot be reopened
	check  func(t *rapid.T, s Store)
}

func (sm *stMachine) genID(t *rapid.T) envelope.ID {
	return sm.ids[rapid.IntRange(0, len(sm.ids)-1).Draw(t, "id")]
}

func (sm *stMachine) genExpiry(t *rapid.T) int64 {
	return sm.now + rapid.Int64Range(-5, 60).Draw(t, "expiry")
}

func (sm *stMachine) genOp(t *rapid.T, kind OpKind) Op {
	switch kind {
	case OpPutHeld:
		i := rapid.IntRange(0, len(sm.ids)-1).Draw(t, "held")
		hops := rapid.Uint8Range(0, 9).Draw(t, "hops")
		env := bytes.Clone(sm.pool[i])
		envelope.SetHops(env, hops)
		h, _ := envelope.ParseHeader(env)
		meta := HeldMeta{
			ID: sm.ids[i], Expiry: sm.genExpiry(t), Hops: hops, Size: len(env),
			Tag: h.Tag, AckHash: h.AckHash, Own: rapid.Bool().Draw(t, "own"),
			From: envelope.PublicKey{rapid.Byte().Draw(t, "from")},
		}
		return Op{Kind: OpPutHeld, ID: meta.ID, Meta: meta, Env: env}
	case OpDeleteHeld:
		return Op{Kind: OpDeleteHeld, ID: sm.genID(t)}
	case OpEvict:
		id := sm.genID(t)
		meta := HeldMeta{ID: id, Expiry: sm.genExpiry(t), AckHash: [envelope.AckHashSize]byte{rapid.Byte().Draw(t, "ack hash")}}
		return Op{Kind: OpEvict, ID: id, Meta: meta}
	case OpSetHops:
		return Op{Kind: OpSetHops, ID: sm.genID(t), Hops: rapid.Uint8Range(0, 9).Draw(t, "hops")}
	case OpMarkSeen:
		return Op{Kind: OpMarkSeen, ID: sm.genID(t), Expiry: sm.genExpiry(t)}
	case OpPutAck:
		a := AckRecord{Ack: envelope.Ack{ID: sm.genID(t), Secret: envelope.AckSecret{rapid.Byte().Draw(t, "secret")}}, Expiry: sm.genExpiry(t)}
		return Op{Kind: OpPutAck, ID: a.Ack.ID, Ack: a}
	case OpPutOutbox:
		e := OutboxEntry{
			ID: sm.genID(t), To: envelope.PublicKey{rapid.Byte().Draw(t, "to")},
			Created: sm.now * 1000, Expiry: sm.genExpiry(t), Size: rapid.IntRange(0, 1<<20).Draw(t, "size"),
			Status:    Status(rapid.Uint8Range(uint8(StatusQueued), uint8(StatusExpired)).Draw(t, "status")),
			Offered:   rapid.Int64Range(0, 5).Draw(t, "offered"),
			Delivered: rapid.Int64Range(0, 5).Draw(t, "delivered"),
			Label:     rapid.StringN(0, 8, 32).Draw(t, "label"),
		}
		return Op{Kind: OpPutOutbox, ID: e.ID, Outbox: e}
	}
	panic("unreachable")
}

func (sm *stMachine) applyOps(t *rapid.T, ops []Op) {
	wantErr := sm.model.apply(ops)
	err := sm.store.Apply(&Batch{Ops: ops})
	if (err == nil) != (wantErr == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
		t.Fatalf("Apply: got %v, want %v", err, wantErr)
	}
}

func (sm *stMachine) actions() map[string]func(*rapid.T) {
	one := func(kind OpKind) func(*rapid.T) {
		return func(t *rapid.T) { sm.applyOps(t, []Op{sm.genOp(t, kind)}) }
	}
	a := map[string]func(*rapid.T){
		"PutHeld":    one(OpPutHeld),
		"DeleteHeld": one(OpDeleteHeld),
		"Evict":      one(OpEvict),
		"SetHops":    one(OpSetHops),
		"MarkSeen":   one(OpMarkSeen),
		"PutAck":     one(OpPutAck),
		"PutOutbox":  one(OpPutOutbox),
		"Batch": func(t *rapid.T) {
			kinds := rapid.SliceOfN(rapid.SampledFrom([]OpKind{
				OpPutHeld, OpDeleteHeld, OpEvict, OpSetHops, OpMarkSeen, OpPutAck, OpPutOutbox,
			}), 2, 5).Draw(t, "kinds")
			ops := make([]Op, len(kinds))
			for i, k := range kinds {
				ops[i] = sm.genOp(t, k)
			}
			sm.applyOps(t, ops)
		},
		"Expire": func(t *rapid.T) {
			sm.now += rapid.Int64Range(0, 20).Draw(t, "advance")
			retention := rapid.Int64Range(0, 30).Draw(t, "retention")
			want := sm.model.expire(sm.now, retention)
			n, err := sm.store.Expire(sm.now, retention)
			if err != nil || n != want {
				t.Fatalf("Expire(%d, %d): got %d, %v; want %d, nil", sm.now, retention, n, err, want)
			}
		},
		"": sm.checkAll,
	}
	if sm.reopen != nil {
		a["Reopen"] = func(t *rapid.T) {
			// Reopening costs tens of milliseconds: do it on a quarter of
			// the draws only.
			if rapid.IntRange(0, 3).Draw(t, "reopen") != 0 {
				t.Skip("no reopen this time")
			}
			if err := sm.store.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			sm.store = sm.reopen()
		}
	}
	return a
}

func (sm *stMachine) checkAll(t *rapid.T) {
	for _, id := range sm.ids {
		_, want := sm.model.seen[id]
		got, err := sm.store.Seen(id)
		if err != nil || got != want {
			t.Fatalf("Seen(%s): got %v, %v; want %v", id.Short(), got, err, want)
		}
		wantHash, evicted := sm.model.evicted[id]
		hash, exp, ok, err := sm.store.EvictedAckHash(id)
		if err != nil || ok != evicted || ok && (hash != wantHash || exp != sm.model.seen[id]) {
			t.Fatalf("EvictedAckHash(%s): got %x, %d, %v, %v; want %x, %d, %v", id.Short(), hash[:1], exp, ok, err, wantHash[:1], sm.model.seen[id], evicted)
		}
		env, err := sm.store.Envelope(id)
		h, held := sm.model.held[id]
		switch {
		case held && (err != nil || !bytes.Equal(env, h.env)):
			t.Fatalf("Envelope(%s): got %d bytes, %v; want the held %d bytes", id.Short(), len(env), err, len(h.env))
		case !held && !errors.Is(err, ErrNotFound):
			t.Fatalf("Envelope(%s): got %v, want %v", id.Short(), err, ErrNotFound)
		}
	}
	st := stLoad(t, sm.store)
	wantHeld := make(map[envelope.ID]HeldMeta, len(sm.model.held))
	for id, h := range sm.model.held {
		wantHeld[id] = h.meta
	}
	if !maps.Equal(st.held, wantHeld) {
		t.Fatalf("Load held: got %v, want %v", st.held, wantHeld)
	}
	if !maps.Equal(st.acks, sm.model.acks) {
		t.Fatalf("Load acks: got %v, want %v", st.acks, sm.model.acks)
	}
	if !maps.Equal(st.outbox, sm.model.outbox) {
		t.Fatalf("Load outbox: got %v, want %v", st.outbox, sm.model.outbox)
	}
	if sm.check != nil {
		sm.check(t, sm.store)
	}
}

// stStateMachine runs the state machine against stores made by open. If
// reopen is set, the machine also closes and reopens the store.
func stStateMachine(t *testing.T, open func(t *testing.T) (s Store, reopen func() Store), check func(*rapid.T, Store)) {
	pool := stPool(t)
	ids := make([]envelope.ID, len(pool))
	for i, env := range pool {
		ids[i] = envelope.ComputeID(env)
	}
	rapid.Check(t, func(rt *rapid.T) {
		s, reopen := open(t)
		sm := &stMachine{
			t:     t,
			store: s,
			model: &stModel{
				held: map[envelope.ID]stHeld{}, seen: map[envelope.ID]int64{},
				acks: map[envelope.ID]AckRecord{}, outbox: map[envelope.ID]OutboxEntry{},
				evicted: map[envelope.ID][envelope.AckHashSize]byte{},
			},
			// A virtual clock in 1970 (behind the wall clock: no badger TTL)
			// or in 2033 (ahead of it: TTLs set but never reached).
			now:    rapid.SampledFrom([]int64{1_000_000, 2_000_000_000}).Draw(rt, "start"),
			pool:   pool,
			ids:    ids,
			reopen: reopen,
			check:  check,
		}
		defer func() { sm.store.Close() }()
		rt.Repeat(sm.actions())
	})
}

func TestStoreStateMachine(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		stStateMachine(t, func(t *testing.T) (Store, func() Store) { return NewMemStore(), nil }, nil)
	})
	t.Run("badger-mem", func(t *testing.T) {
		t.Parallel()
		stStateMachine(t, func(t *testing.T) (Store, func() Store) {
			// The pool's envelopes are small: a small memtable makes the
			// hundred opens cheaper.
			s, err := OpenBadgerStore(BadgerOptions{InMemory: true, GCInterval: -1, MaxEnvelopeSize: 64 << 10})
			if err != nil {
				t.Fatalf("OpenBadgerStore: %v", err)
			}
			return s, nil
		}, badgerCheckIndexRapid)
	})
	t.Run("badger-disk", func(t *testing.T) {
		t.Parallel()
		stStateMachine(t, func(t *testing.T) (Store, func() Store) {
			opts := BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true}
			open := func() Store {
				s, err := OpenBadgerStore(opts)
				if err != nil {
					t.Fatalf("OpenBadgerStore: %v", err)
				}
				return s
			}
			return open(), open
		}, badgerCheckIndexRapid)
	})
}
