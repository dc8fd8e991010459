package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// Store tests run against every Store implementation: MemStore, and
// BadgerStore in memory and on disk.

type stOpener struct {
	name string
	open func(t *testing.T) Store
	// persist, if set, opens a store and returns a function that reopens
	// it, once closed, with everything it held.
	persist func(t *testing.T) (Store, func() Store)
}

func stOpeners() []stOpener {
	return []stOpener{
		{name: "mem", open: func(t *testing.T) Store { return NewMemStore() }},
		{name: "badger-mem", open: func(t *testing.T) Store {
			return stOpenBadger(t, BadgerOptions{InMemory: true, GCInterval: -1})
		}},
		{name: "badger-disk", open: func(t *testing.T) Store {
			return stOpenBadger(t, BadgerOptions{Dir: t.TempDir(), GCInterval: -1})
		}, persist: func(t *testing.T) (Store, func() Store) {
			opts := BadgerOptions{Dir: t.TempDir(), GCInterval: -1}
			return stOpenBadger(t, opts), func() Store { return stOpenBadger(t, opts) }
		}},
	}
}

func stOpenBadger(t testing.TB, opts BadgerOptions) *BadgerStore {
	t.Helper()
	s, err := OpenBadgerStore(opts)
	if err != nil {
		t.Fatalf("OpenBadgerStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreConformance(t *testing.T) {
	for _, o := range stOpeners() {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			stConformance(t, o)
		})
	}
}

// stEnvelope seals a real envelope expiring at expiry and returns its
// bytes and the meta a node would hold for it.
func stEnvelope(t testing.TB, expiry int64, hops uint8, body string) ([]byte, HeldMeta) {
	t.Helper()
	kr := stKeyring(t)
	env, err := kr.Seal(envelope.SealParams{
		To:      kr.PublicKey(),
		Body:    []byte(body),
		Created: time.Unix(expiry-3600, 0),
		Expiry:  time.Unix(expiry, 0),
		Hops:    hops,
	})
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	b := env.Encode()
	return b, HeldMeta{
		ID:      envelope.ComputeID(b),
		Expiry:  expiry,
		Hops:    hops,
		Size:    len(b),
		Tag:     env.Tag,
		AckHash: env.AckHash,
		From:    envelope.PublicKey{0xf0, byte(hops)},
	}
}

var (
	stKeyringOnce sync.Once
	stKeyringVal  *envelope.Keyring
	stKeyringErr  error
)

func stKeyring(t testing.TB) *envelope.Keyring {
	t.Helper()
	stKeyringOnce.Do(func() {
		kp, err := envelope.GenerateKeyPair(nil)
		stKeyringVal, stKeyringErr = envelope.NewKeyring(envelope.Config{Identity: kp}), err
	})
	if stKeyringErr != nil {
		t.Fatalf("GenerateKeyPair: %v", stKeyringErr)
	}
	return stKeyringVal
}

// stID returns a made-up ID for records that need no envelope.
func stID(n int) envelope.ID {
	var id envelope.ID
	copy(id[:], fmt.Sprintf("st-id-%06d", n))
	return id
}

func stApply(t testing.TB, s Store, fill func(b *Batch)) {
	t.Helper()
	var b Batch
	fill(&b)
	if err := s.Apply(&b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// stTB is what the helpers need of a *testing.T or a *rapid.T.
type stTB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// stState is everything a Store shows through Load.
type stState struct {
	held   map[envelope.ID]HeldMeta
	acks   map[envelope.ID]AckRecord
	outbox map[envelope.ID]OutboxEntry
}

func stLoad(t stTB, s Store) stState {
	t.Helper()
	st := stState{
		held:   make(map[envelope.ID]HeldMeta),
		acks:   make(map[envelope.ID]AckRecord),
		outbox: make(map[envelope.ID]OutboxEntry),
	}
	err := s.Load(
		func(m HeldMeta) error { st.held[m.ID] = m; return nil },
		func(a AckRecord) error { st.acks[a.Ack.ID] = a; return nil },
		func(o OutboxEntry) error { st.outbox[o.ID] = o; return nil },
	)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return st
}

func stSeen(t testing.TB, s Store, id envelope.ID) bool {
	t.Helper()
	ok, err := s.Seen(id)
	if err != nil {
		t.Fatalf("Seen(%s): %v", id.Short(), err)
	}
	return ok
}

// stBigSizes are the sizes of the large envelopes of the conformance
// suite: one chunk of ciphertext and a bit (badger's chunks are 512 KiB),
// several, and mesh's default Config.MaxEnvelopeSize.
var stBigSizes = []int{600 << 10, 3 << 20, 8 << 20}

var (
	stBigMu   sync.Mutex
	stBigEnvs = make(map[int][]byte)
)

// stBigEnvelope returns an envelope of exactly size bytes expiring at
// expiry: the header of a sealed envelope, with hops, and random
// ciphertext. Its header declares another ciphertext length, so it does
// not open or parse; stores neither open nor parse what they hold. The
// bytes are the caller's.
func stBigEnvelope(t testing.TB, size int, expiry int64, hops uint8) ([]byte, HeldMeta) {
	t.Helper()
	stBigMu.Lock()
	ct, ok := stBigEnvs[size]
	if !ok {
		ct = make([]byte, size-envelope.HeaderSize)
		rand.NewChaCha8([32]byte{byte(size), byte(size >> 8), byte(size >> 16), byte(size >> 24)}).Read(ct)
		stBigEnvs[size] = ct
	}
	stBigMu.Unlock()
	small, meta := stEnvelope(t, expiry, hops, "big")
	env := append(small[:envelope.HeaderSize:envelope.HeaderSize], ct...)
	meta.ID = envelope.ComputeID(env)
	meta.Size = len(env)
	return env, meta
}

func stConformance(t *testing.T, o stOpener) {
	const exp = 2_000_000_000 // 2033
	open := o.open

	t.Run("held", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 4, "held")
		meta.Own = true
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })

		got, err := s.Envelope(meta.ID)
		if err != nil || !bytes.Equal(got, env) {
			t.Fatalf("Envelope = %d bytes, %v; want the %d bytes put", len(got), err, len(env))
		}
		if st := stLoad(t, s); len(st.held) != 1 || st.held[meta.ID] != meta {
			t.Errorf("Load held = %v, want just %v", st.held, meta)
		}
		if !stSeen(t, s, meta.ID) {
			t.Errorf("Seen after PutHeld = false, want true")
		}

		stApply(t, s, func(b *Batch) { b.DeleteHeld(meta.ID) })
		if _, err := s.Envelope(meta.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Envelope after DeleteHeld: got %v, want %v", err, ErrNotFound)
		}
		if st := stLoad(t, s); len(st.held) != 0 {
			t.Errorf("Load held after delete = %v, want none", st.held)
		}
		if !stSeen(t, s, meta.ID) {
			t.Errorf("Seen after DeleteHeld = false, want true (the seen entry stays)")
		}
		// Deleting what is not there is not an error.
		stApply(t, s, func(b *Batch) { b.DeleteHeld(meta.ID); b.DeleteHeld(stID(1)) })
	})

	t.Run("held-overwrite", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 4, "overwrite")
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
		m2 := meta
		m2.Expiry, m2.Hops = exp+100, 2
		env2 := bytes.Clone(env)
		envelope.SetHops(env2, 2)
		stApply(t, s, func(b *Batch) { b.PutHeld(m2, env2) })
		if st := stLoad(t, s); len(st.held) != 1 || st.held[meta.ID] != m2 {
			t.Errorf("Load held = %v, want just %v", st.held, m2)
		}
		// Only the new expiry counts.
		if n := stExpire(t, s, exp, 0); n != 0 {
			t.Errorf("Expire(old expiry) removed %d, want 0", n)
		}
		if got, _ := s.Envelope(meta.ID); !bytes.Equal(got, env2) {
			t.Errorf("Envelope after overwrite differs from the second put")
		}
	})

	t.Run("set-hops", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 5, "hops")
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
		stApply(t, s, func(b *Batch) { b.SetHops(meta.ID, 2) })

		got, err := s.Envelope(meta.ID)
		if err != nil {
			t.Fatalf("Envelope: %v", err)
		}
		h, err := envelope.ParseHeader(got)
		if err != nil {
			t.Fatalf("ParseHeader: %v", err)
		}
		if h.Hops != 2 {
			t.Errorf("header hops: got %d, want %d", h.Hops, 2)
		}
		if id := envelope.ComputeID(got); id != meta.ID {
			t.Errorf("ComputeID after SetHops: got %s, want %s", id.Short(), meta.ID.Short())
		}
		want := bytes.Clone(env)
		envelope.SetHops(want, 2)
		if !bytes.Equal(got, want) {
			t.Errorf("SetHops changed more than the hop counter")
		}
		if st := stLoad(t, s); st.held[meta.ID].Hops != 2 {
			t.Errorf("meta hops: got %d, want %d", st.held[meta.ID].Hops, 2)
		}
		if h, _ := envelope.ParseHeader(env); h.Hops != 5 {
			t.Errorf("SetHops changed the caller's bytes: hops %d, want %d", h.Hops, 5)
		}

		var b Batch
		b.SetHops(stID(2), 1)
		if err := s.Apply(&b); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetHops of a missing envelope: got %v, want %v", err, ErrNotFound)
		}
	})

	t.Run("set-hops-in-batch", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 5, "batch hops")
		// Put then SetHops in one batch.
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env); b.SetHops(meta.ID, 1) })
		if got := stHops(t, s, meta.ID); got != 1 {
			t.Errorf("hops after put+set in one batch: got %d, want %d", got, 1)
		}
		// Delete then SetHops in one batch: not found, nothing applied.
		var b Batch
		b.DeleteHeld(meta.ID)
		b.SetHops(meta.ID, 3)
		if err := s.Apply(&b); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete+set hops: got %v, want %v", err, ErrNotFound)
		}
		if got := stHops(t, s, meta.ID); got != 1 {
			t.Errorf("hops after a failed delete+set hops batch: got %d, want %d", got, 1)
		}
	})

	t.Run("seen", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 3, "seen")
		ack := AckRecord{Ack: envelope.Ack{ID: stID(11), Secret: envelope.AckSecret{1}}, Expiry: exp}
		stApply(t, s, func(b *Batch) {
			b.PutHeld(meta, env)
			b.MarkSeen(stID(10), exp)
			b.PutAck(ack)
		})
		for _, tc := range []struct {
			name string
			id   envelope.ID
			want bool
		}{
			{"put held", meta.ID, true},
			{"mark seen", stID(10), true},
			{"put ack", stID(11), true},
			{"unknown", stID(12), false},
		} {
			if got := stSeen(t, s, tc.id); got != tc.want {
				t.Errorf("Seen(%s): got %v, want %v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("seen-keeps-latest-expiry", func(t *testing.T) {
		s := open(t)
		stApply(t, s, func(b *Batch) { b.MarkSeen(stID(1), exp+10) })
		stApply(t, s, func(b *Batch) { b.MarkSeen(stID(1), exp) }) // earlier: ignored
		stApply(t, s, func(b *Batch) { b.MarkSeen(stID(2), exp) })
		stApply(t, s, func(b *Batch) { b.MarkSeen(stID(2), exp+10) }) // later: extends
		if n := stExpire(t, s, exp+5, 0); n != 0 {
			t.Errorf("Expire before the latest expiry removed %d, want 0", n)
		}
		for _, n := range []int{1, 2} {
			if !stSeen(t, s, stID(n)) {
				t.Errorf("Seen(%d) before its latest expiry = false, want true", n)
			}
		}
		if n := stExpire(t, s, exp+10, 0); n != 2 {
			t.Errorf("Expire at the latest expiry removed %d, want 2", n)
		}
	})

	t.Run("acks", func(t *testing.T) {
		s := open(t)
		a := AckRecord{Ack: envelope.Ack{ID: stID(1), Secret: envelope.AckSecret{7, 7}}, Expiry: exp}
		stApply(t, s, func(b *Batch) { b.PutAck(a) })
		if st := stLoad(t, s); len(st.acks) != 1 || st.acks[a.Ack.ID] != a {
			t.Errorf("Load acks = %v, want just %v", st.acks, a)
		}
		a.Expiry = exp + 50
		stApply(t, s, func(b *Batch) { b.PutAck(a) })
		if st := stLoad(t, s); len(st.acks) != 1 || st.acks[a.Ack.ID] != a {
			t.Errorf("Load acks after replace = %v, want just %v", st.acks, a)
		}
		if n := stExpire(t, s, exp, 0); n != 0 {
			t.Errorf("Expire at the replaced ack's old expiry removed %d, want 0", n)
		}
	})

	t.Run("outbox", func(t *testing.T) {
		s := open(t)
		e := OutboxEntry{
			ID: stID(1), To: envelope.PublicKey{9}, Created: 1_700_000_000_000, Expiry: exp,
			Size: 1234, Status: StatusQueued, Label: "<msg-1@example.org>",
		}
		stApply(t, s, func(b *Batch) { b.PutOutbox(e) })
		if st := stLoad(t, s); len(st.outbox) != 1 || st.outbox[e.ID] != e {
			t.Errorf("Load outbox = %v, want just %v", st.outbox, e)
		}
		e.Status, e.Offered, e.Delivered, e.Expiry = StatusDelivered, 1_700_000_001_000, 1_700_000_002_000, exp+99
		e.Label = strings.Repeat("x", 255)
		stApply(t, s, func(b *Batch) { b.PutOutbox(e) })
		if st := stLoad(t, s); len(st.outbox) != 1 || st.outbox[e.ID] != e {
			t.Errorf("Load outbox after replace = %v, want just %v", st.outbox, e)
		}
		if stSeen(t, s, e.ID) {
			t.Errorf("Seen after PutOutbox = true, want false (the node marks its own mail seen)")
		}
	})

	t.Run("invalid-ops", func(t *testing.T) {
		env, meta := stEnvelope(t, exp, 3, "invalid")
		good := OutboxEntry{ID: stID(1), Expiry: exp, Status: StatusQueued}
		for _, tc := range []struct {
			name string
			op   Op
		}{
			{"unknown kind", Op{Kind: 0, ID: stID(1)}},
			{"unknown kind 99", Op{Kind: 99, ID: stID(1)}},
			{"held ID mismatch", Op{Kind: OpPutHeld, ID: stID(1), Meta: meta, Env: env}},
			{"held short bytes", Op{Kind: OpPutHeld, ID: meta.ID, Meta: meta, Env: env[:10]}},
			{"held too long", Op{Kind: OpPutHeld, ID: meta.ID, Meta: meta, Env: stTooLong()}},
			{"held negative size", Op{Kind: OpPutHeld, ID: meta.ID, Meta: HeldMeta{ID: meta.ID, Size: -1}, Env: env}},
			{"ack ID mismatch", Op{Kind: OpPutAck, ID: stID(2), Ack: AckRecord{Ack: envelope.Ack{ID: stID(1)}}}},
			{"outbox ID mismatch", Op{Kind: OpPutOutbox, ID: stID(2), Outbox: good}},
			{"outbox label 256", Op{Kind: OpPutOutbox, ID: stID(1), Outbox: func() OutboxEntry {
				e := good
				e.Label = strings.Repeat("y", 256)
				return e
			}()}},
			{"outbox status 0", Op{Kind: OpPutOutbox, ID: stID(1), Outbox: func() OutboxEntry {
				e := good
				e.Status = 0
				return e
			}()}},
			{"outbox status 9", Op{Kind: OpPutOutbox, ID: stID(1), Outbox: func() OutboxEntry {
				e := good
				e.Status = 9
				return e
			}()}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				b := Batch{Ops: []Op{{Kind: OpMarkSeen, ID: stID(3), Expiry: exp}, tc.op}}
				if err := s.Apply(&b); err == nil {
					t.Fatalf("Apply: got nil error, want one")
				}
				if stSeen(t, s, stID(3)) {
					t.Errorf("a rejected batch marked an ID seen")
				}
			})
		}
	})

	t.Run("load", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 3, "load")
		a := AckRecord{Ack: envelope.Ack{ID: stID(1)}, Expiry: exp}
		o := OutboxEntry{ID: stID(2), Expiry: exp, Status: StatusOffered}
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env); b.PutAck(a); b.PutOutbox(o) })

		var calls []string
		err := s.Load(
			func(m HeldMeta) error { calls = append(calls, "held"); return nil },
			func(AckRecord) error { calls = append(calls, "ack"); return nil },
			func(OutboxEntry) error { calls = append(calls, "outbox"); return nil },
		)
		if got, want := strings.Join(calls, ","), "held,ack,outbox"; err != nil || got != want {
			t.Errorf("Load calls: got %q, %v; want %q, nil", got, err, want)
		}
		if err := s.Load(nil, nil, nil); err != nil {
			t.Errorf("Load(nil, nil, nil): got %v, want nil", err)
		}

		// An error stops the walk and comes back.
		stop := errors.New("stop")
		calls = nil
		err = s.Load(
			func(HeldMeta) error { calls = append(calls, "held"); return stop },
			func(AckRecord) error { calls = append(calls, "ack"); return nil },
			nil,
		)
		if got, want := strings.Join(calls, ","), "held"; !errors.Is(err, stop) || got != want {
			t.Errorf("Load with a failing callback: got %q, %v; want %q, %v", got, err, want, stop)
		}

		// The callbacks may read the store.
		err = s.Load(func(m HeldMeta) error {
			_, err := s.Envelope(m.ID)
			return err
		}, nil, nil)
		if err != nil {
			t.Errorf("Load with a callback reading the store: got %v, want nil", err)
		}
	})

	t.Run("expire", func(t *testing.T) {
		const now, retention = exp, 1000
		s := open(t)
		type rec struct {
			kind   string
			expiry int64
			gone   bool
		}
		recs := []rec{
			{"held", now - 1, true}, {"held", now, true}, {"held", now + 1, false},
			{"seen", now - 50, true}, {"seen", now, true}, {"seen", now + 1, false},
			{"ack", now - 1, true}, {"ack", now, true}, {"ack", now + 1, false},
			{"outbox", now - retention - 1, true}, {"outbox", now - retention, true},
			{"outbox", now - retention + 1, false}, {"outbox", now, false},
		}
		wantRemoved := 0
		ids := make([]envelope.ID, len(recs))
		var b Batch
		for i, r := range recs {
			switch r.kind {
			case "held":
				env, meta := stEnvelope(t, r.expiry, 2, "expire")
				ids[i] = meta.ID
				b.PutHeld(meta, env)
			case "seen":
				ids[i] = stID(100 + i)
				b.MarkSeen(ids[i], r.expiry)
			case "ack":
				ids[i] = stID(100 + i)
				b.PutAck(AckRecord{Ack: envelope.Ack{ID: ids[i]}, Expiry: r.expiry})
			case "outbox":
				ids[i] = stID(100 + i)
				b.PutOutbox(OutboxEntry{ID: ids[i], Expiry: r.expiry, Status: StatusDelivered})
			}
			if r.gone {
				wantRemoved++
				if r.kind == "held" || r.kind == "ack" {
					wantRemoved++ // and the seen entry they imply
				}
			}
		}
		if err := s.Apply(&b); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if n := stExpire(t, s, now, retention); n != wantRemoved {
			t.Errorf("Expire removed %d, want %d", n, wantRemoved)
		}
		st := stLoad(t, s)
		for i, r := range recs {
			var present bool
			switch r.kind {
			case "held":
				_, present = st.held[ids[i]]
				_, err := s.Envelope(ids[i])
				if gotPresent := err == nil; gotPresent != present {
					t.Errorf("held %d: Envelope present %v, Load present %v", i, gotPresent, present)
				}
			case "seen":
				present = stSeen(t, s, ids[i])
			case "ack":
				_, present = st.acks[ids[i]]
				if seen := stSeen(t, s, ids[i]); seen != present {
					t.Errorf("ack %d: seen %v, ack present %v", i, seen, present)
				}
			case "outbox":
				_, present = st.outbox[ids[i]]
			}
			if present == r.gone {
				t.Errorf("%s expiring at now%+d: present %v, want %v", r.kind, r.expiry-now, present, !r.gone)
			}
		}
		if n := stExpire(t, s, now, retention); n != 0 {
			t.Errorf("second Expire removed %d, want 0", n)
		}
	})

	t.Run("outbox-expiry-replaced", func(t *testing.T) {
		s := open(t)
		e := OutboxEntry{ID: stID(1), Expiry: exp, Status: StatusQueued}
		stApply(t, s, func(b *Batch) { b.PutOutbox(e) })
		e.Expiry = exp + 100
		stApply(t, s, func(b *Batch) { b.PutOutbox(e) })
		if n := stExpire(t, s, exp, 0); n != 0 {
			t.Errorf("Expire at the old outbox expiry removed %d, want 0", n)
		}
		if n := stExpire(t, s, exp+100, 0); n != 1 {
			t.Errorf("Expire at the new outbox expiry removed %d, want 1", n)
		}
	})

	t.Run("atomic", func(t *testing.T) {
		s := open(t)
		env, meta := stEnvelope(t, exp, 3, "atomic")
		before := OutboxEntry{ID: stID(3), Expiry: exp, Status: StatusQueued}
		stApply(t, s, func(b *Batch) { b.PutOutbox(before) })

		var b Batch
		b.PutHeld(meta, env)
		b.MarkSeen(stID(1), exp)
		b.PutAck(AckRecord{Ack: envelope.Ack{ID: stID(2)}, Expiry: exp})
		after := before
		after.Status = StatusOffered
		b.PutOutbox(after)
		b.SetHops(stID(4), 1) // not held: fails the batch
		if err := s.Apply(&b); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Apply: got %v, want %v", err, ErrNotFound)
		}
		for _, id := range []envelope.ID{meta.ID, stID(1), stID(2)} {
			if stSeen(t, s, id) {
				t.Errorf("Seen(%s) after a failed batch = true, want false", id.Short())
			}
		}
		if _, err := s.Envelope(meta.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Envelope after a failed batch: got %v, want %v", err, ErrNotFound)
		}
		st := stLoad(t, s)
		if len(st.held) != 0 || len(st.acks) != 0 || st.outbox[before.ID] != before {
			t.Errorf("after a failed batch: held %v, acks %v, outbox %v; want nothing but %v", st.held, st.acks, st.outbox, before)
		}
	})

	t.Run("empty-batch", func(t *testing.T) {
		s := open(t)
		if err := s.Apply(&Batch{}); err != nil {
			t.Errorf("Apply(empty): got %v, want nil", err)
		}
	})

	for _, size := range stBigSizes {
		t.Run(fmt.Sprintf("large-%dK", size>>10), func(t *testing.T) {
			stLarge(t, o, size)
		})
	}

	t.Run("closed", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		var b Batch
		b.MarkSeen(stID(1), exp)
		for _, tc := range []struct {
			name string
			err  error
		}{
			{"Apply", s.Apply(&b)},
			{"Envelope", func() error { _, err := s.Envelope(stID(1)); return err }()},
			{"Seen", func() error { _, err := s.Seen(stID(1)); return err }()},
			{"Load", s.Load(nil, nil, nil)},
			{"Expire", func() error { _, err := s.Expire(exp, 0); return err }()},
		} {
			if tc.err == nil {
				t.Errorf("%s after Close: got nil error, want one", tc.name)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: got %v, want nil", err)
		}
	})
}

var (
	stTooLongOnce sync.Once
	stTooLongEnv  []byte
)

// stTooLong returns an envelope one byte over the format maximum.
func stTooLong() []byte {
	stTooLongOnce.Do(func() { stTooLongEnv = make([]byte, envelope.HeaderSize+envelope.MaxCiphertext+1) })
	return stTooLongEnv
}

// stLarge puts, reads, re-hops, overwrites, deletes, expires and, for a
// store that persists, reopens an envelope of size bytes.
func stLarge(t *testing.T, o stOpener, size int) {
	const exp = 2_000_000_000
	envEqual := func(t *testing.T, s Store, id envelope.ID, want []byte, when string) {
		t.Helper()
		got, err := s.Envelope(id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Envelope %s: got %d bytes, %v; want the %d bytes put", when, len(got), err, len(want))
		}
	}
	env, meta := stBigEnvelope(t, size, exp, 6)
	orig := bytes.Clone(env)

	t.Run("put-hops-delete", func(t *testing.T) {
		s := o.open(t)
		meta := meta
		meta.Own = true
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
		envEqual(t, s, meta.ID, orig, "after put")
		if st := stLoad(t, s); len(st.held) != 1 || st.held[meta.ID] != meta {
			t.Errorf("Load held = %v, want just %v", st.held, meta)
		}
		if !stSeen(t, s, meta.ID) {
			t.Errorf("Seen after PutHeld = false, want true")
		}

		stApply(t, s, func(b *Batch) { b.SetHops(meta.ID, 2) })
		want := bytes.Clone(orig)
		envelope.SetHops(want, 2)
		got, err := s.Envelope(meta.ID)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Envelope after SetHops: got %d bytes, %v; want the %d bytes put, with 2 hops", len(got), err, len(want))
		}
		if id := envelope.ComputeID(got); id != meta.ID {
			t.Errorf("ComputeID after SetHops: got %s, want %s", id.Short(), meta.ID.Short())
		}
		if st := stLoad(t, s); st.held[meta.ID].Hops != 2 {
			t.Errorf("meta hops: got %d, want %d", st.held[meta.ID].Hops, 2)
		}
		if !bytes.Equal(env, orig) {
			t.Errorf("the store changed the caller's bytes")
		}

		// A shorter envelope under the same ID replaces all of it.
		short, _ := stEnvelope(t, exp, 1, "short")
		m2 := meta
		m2.Size, m2.Hops = len(short), 1
		stApply(t, s, func(b *Batch) { b.PutHeld(m2, short) })
		envEqual(t, s, meta.ID, short, "after a shorter overwrite")
		stBadgerIndex(t, s)

		stApply(t, s, func(b *Batch) { b.DeleteHeld(meta.ID) })
		if _, err := s.Envelope(meta.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Envelope after DeleteHeld: got %v, want %v", err, ErrNotFound)
		}
		if st := stLoad(t, s); len(st.held) != 0 {
			t.Errorf("Load held after delete = %v, want none", st.held)
		}
		stBadgerIndex(t, s)
	})

	t.Run("expire", func(t *testing.T) {
		s := o.open(t)
		small, smeta := stEnvelope(t, exp+1, 3, "stays")
		stApply(t, s, func(b *Batch) {
			b.PutHeld(meta, env)
			b.PutHeld(smeta, small)
			b.SetHops(meta.ID, 4)
		})
		if n := stExpire(t, s, exp-1, 0); n != 0 {
			t.Errorf("Expire before the expiry removed %d, want 0", n)
		}
		if n := stExpire(t, s, exp, 0); n != 2 { // held and its seen entry
			t.Errorf("Expire removed %d, want 2", n)
		}
		if _, err := s.Envelope(meta.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Envelope after Expire: got %v, want %v", err, ErrNotFound)
		}
		envEqual(t, s, smeta.ID, small, "of the envelope not expired")
		stBadgerIndex(t, s)
	})

	if o.persist == nil {
		return
	}
	t.Run("reopen", func(t *testing.T) {
		s, reopen := o.persist(t)
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s = reopen()
		envEqual(t, s, meta.ID, orig, "after reopen")
		stApply(t, s, func(b *Batch) { b.SetHops(meta.ID, 0) })
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s = reopen()
		want := bytes.Clone(orig)
		envelope.SetHops(want, 0)
		envEqual(t, s, meta.ID, want, "after SetHops and reopen")
		if st := stLoad(t, s); len(st.held) != 1 || st.held[meta.ID].Hops != 0 {
			t.Errorf("Load held after reopen = %v, want just %s with 0 hops", st.held, meta.ID.Short())
		}
		if n := stExpire(t, s, exp, 0); n != 2 {
			t.Errorf("Expire after reopen removed %d, want 2", n)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s = reopen()
		if _, err := s.Envelope(meta.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Envelope after Expire and reopen: got %v, want %v", err, ErrNotFound)
		}
		stBadgerIndex(t, s)
	})
}

// stBadgerIndex checks a BadgerStore's index and chunks; other stores
// pass.
func stBadgerIndex(t *testing.T, s Store) {
	t.Helper()
	if bs, ok := s.(*BadgerStore); ok {
		badgerCheckIndex(t, bs)
	}
}

// stHops returns the hop counter of a held envelope.
func stHops(t testing.TB, s Store, id envelope.ID) uint8 {
	t.Helper()
	env, err := s.Envelope(id)
	if err != nil {
		t.Fatalf("Envelope(%s): %v", id.Short(), err)
	}
	h, err := envelope.ParseHeader(env)
	if err != nil {
		t.Fatalf("ParseHeader: %v", err)
	}
	return h.Hops
}

func stExpire(t testing.TB, s Store, now, retention int64) int {
	t.Helper()
	n, err := s.Expire(now, retention)
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	return n
}
