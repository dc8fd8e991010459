package mesh

// How the write path lays envelopes out in chunks, and how it keeps each
// transaction (writes and expiries) within badger's limits.

import (
	"bytes"
	"errors"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/toxmail/toxmail/envelope"
)

// badgerChunks returns the chunks stored under e|id: index → (size,
// badger version).
func badgerChunks(t *testing.T, s *BadgerStore, id envelope.ID) map[int][2]uint64 {
	t.Helper()
	got := make(map[int][2]uint64)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: badgerKey(badgerPrefixEnv, id)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			_, i, err := badgerParseChunkKey(it.Item().Key())
			if err != nil {
				return err
			}
			var size int
			if err := it.Item().Value(func(v []byte) error { size = len(v); return nil }); err != nil {
				return err
			}
			got[i] = [2]uint64{uint64(size), it.Item().Version()}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the chunks of %s: %v", id.Short(), err)
	}
	return got
}

// TestBadgerChunkLayout puts envelopes around the chunk boundaries under
// one ID, growing and shrinking, and checks the chunks, the bytes read
// back, and that SetHops rewrites chunk 0 only.
func TestBadgerChunkLayout(t *testing.T) {
	const (
		exp = 2_000_000_000
		h   = envelope.HeaderSize
		c   = badgerChunkSize
	)
	sizes := []struct{ size, chunks int }{
		{h, 1}, {h + 1, 2}, {h + c - 1, 2}, {h + c, 2}, {h + c + 1, 3}, {h + 2*c + 5, 4},
	}
	for _, mode := range []struct {
		name string
		opts func(t *testing.T) BadgerOptions
	}{
		{"mem", func(*testing.T) BadgerOptions { return BadgerOptions{InMemory: true, GCInterval: -1} }},
		{"disk", func(t *testing.T) BadgerOptions {
			return BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true}
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := stOpenBadger(t, mode.opts(t))
			_, meta := stEnvelope(t, exp, 5, "layout")
			order := append(slices.Clone(sizes), sizes[:len(sizes)-1]...)
			slices.Reverse(order[len(sizes):]) // up, then down again
			for _, sz := range order {
				env, _ := stBigEnvelope(t, sz.size, exp, 5)
				m := meta
				m.Size = len(env)
				stApply(t, s, func(b *Batch) { b.PutHeld(m, env) })
				chunks := badgerChunks(t, s, meta.ID)
				if len(chunks) != sz.chunks {
					t.Errorf("%d bytes: %d chunks, want %d", sz.size, len(chunks), sz.chunks)
				}
				if got, err := s.Envelope(meta.ID); err != nil || !bytes.Equal(got, env) {
					t.Fatalf("%d bytes: Envelope got %d bytes, %v; want the bytes put", sz.size, len(got), err)
				}

				stApply(t, s, func(b *Batch) { b.SetHops(meta.ID, 1) })
				after := badgerChunks(t, s, meta.ID)
				for i, before := range chunks {
					if changed := after[i][1] != before[1]; changed != (i == 0) {
						t.Errorf("%d bytes: SetHops rewrote chunk %d: %v, want %v", sz.size, i, changed, i == 0)
					}
				}
				want := bytes.Clone(env)
				envelope.SetHops(want, 1)
				if got, err := s.Envelope(meta.ID); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%d bytes: Envelope after SetHops got %d bytes, %v; want the bytes put, 1 hop", sz.size, len(got), err)
				}
				badgerCheckIndex(t, s)
			}
			stApply(t, s, func(b *Batch) { b.DeleteHeld(meta.ID) })
			if chunks := badgerChunks(t, s, meta.ID); len(chunks) != 0 {
				t.Errorf("chunks left after DeleteHeld: %v", chunks)
			}
			badgerCheckIndex(t, s)
		})
	}
}

// TestBadgerTxnLimits checks what one Apply carries: in memory, two
// envelopes of MaxEnvelopeSize and not three, failing whole with a clear
// error; on disk, any envelope the format allows, several at once. The
// subtests move tens of megabytes each and run one after the other: in
// parallel, under the race detector, they thrash.
func TestBadgerTxnLimits(t *testing.T) {
	const exp = 2_000_000_000
	t.Run("mem-default", func(t *testing.T) {
		s := stOpenBadger(t, BadgerOptions{InMemory: true, GCInterval: -1})
		var envs [3][]byte
		var metas [3]HeldMeta
		for i := range envs {
			envs[i], metas[i] = stBigEnvelope(t, badgerDefaultMaxEnvelope, exp, uint8(i))
		}
		// Two at once, with room to spare for records.
		stApply(t, s, func(b *Batch) {
			b.PutHeld(metas[0], envs[0])
			b.PutHeld(metas[1], envs[1])
			for i := range 2000 {
				b.MarkSeen(stID(i), exp)
				b.PutOutbox(OutboxEntry{ID: stID(i), Expiry: exp, Status: StatusQueued, Label: "<x@example.org>"})
			}
		})
		for i := range 2 {
			if got, err := s.Envelope(metas[i].ID); err != nil || !bytes.Equal(got, envs[i]) {
				t.Errorf("Envelope %d: got %d bytes, %v; want the bytes put", i, len(got), err)
			}
		}
		stApply(t, s, func(b *Batch) { b.DeleteHeld(metas[0].ID); b.DeleteHeld(metas[1].ID) })

		// Three are too many: nothing is applied.
		var b Batch
		b.MarkSeen(stID(99_999), exp)
		for i := range envs {
			b.PutHeld(metas[i], envs[i])
		}
		err := s.Apply(&b)
		if !errors.Is(err, badger.ErrTxnTooBig) {
			t.Fatalf("Apply of three %d-byte envelopes: got %v, want %v", badgerDefaultMaxEnvelope, err, badger.ErrTxnTooBig)
		}
		for _, want := range []string{"too big for one transaction", "nothing was applied", "MaxEnvelopeSize"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		for _, id := range []envelope.ID{stID(99_999), metas[2].ID} {
			if stSeen(t, s, id) {
				t.Errorf("Seen(%s) after a batch too big = true, want false", id.Short())
			}
		}
		badgerCheckIndex(t, s)
	})

	t.Run("mem-format-max", func(t *testing.T) {
		// The memtable this takes is about 1.1 GiB; it is allocated up
		// front, and under the race detector its shadow too, which costs
		// seconds and gigabytes. The arithmetic is checked in any case.
		mt := badgerMemTableFor(badgerMaxEnvelope)
		perEnv := int64(badgerMaxEnvelope + badgerChunkCount(badgerMaxEnvelope)*(badgerChunkKeySize+badgerEntryCost))
		if limit := 15 * mt / 100; limit <= 2*perEnv+badgerMemRecordRoom || mt >= 1<<32 {
			t.Errorf("memtable of %d bytes for the format maximum: limit %d, want more than %d (and an arena below 4 GiB)", mt, limit, 2*perEnv+badgerMemRecordRoom)
		}
		if testing.Short() || badgerRaceEnabled() {
			t.Skip("a 1.1 GiB memtable: skipped with -short or -race")
		}
		s := stOpenBadger(t, BadgerOptions{InMemory: true, GCInterval: -1, MaxEnvelopeSize: badgerMaxEnvelope})
		env, meta := stBigEnvelope(t, badgerMaxEnvelope, exp, 3)
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env); b.SetHops(meta.ID, 2) })
		envelope.SetHops(env, 2)
		if got, err := s.Envelope(meta.ID); err != nil || !bytes.Equal(got, env) {
			t.Errorf("Envelope: got %d bytes, %v; want the %d bytes put", len(got), err, len(env))
		}
		if n := stExpire(t, s, exp, 0); n != 2 {
			t.Errorf("Expire removed %d, want 2", n)
		}
		badgerCheckIndex(t, s)
	})

	t.Run("disk", func(t *testing.T) {
		opts := BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true}
		s := stOpenBadger(t, opts)
		big, bigMeta := stBigEnvelope(t, badgerMaxEnvelope, exp, 3)
		var envs [2][]byte
		var metas [2]HeldMeta
		stApply(t, s, func(b *Batch) {
			b.PutHeld(bigMeta, big)
			for i := range envs {
				envs[i], metas[i] = stBigEnvelope(t, badgerDefaultMaxEnvelope+i, exp, uint8(i))
				b.PutHeld(metas[i], envs[i])
			}
		})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = stOpenBadger(t, opts)
		if got, err := s.Envelope(bigMeta.ID); err != nil || !bytes.Equal(got, big) {
			t.Errorf("Envelope of the largest envelope after reopen: got %d bytes, %v; want the %d bytes put", len(got), err, len(big))
		}
		if got, err := s.Envelope(metas[1].ID); err != nil || !bytes.Equal(got, envs[1]) {
			t.Errorf("Envelope after reopen: got %d bytes, %v; want the %d bytes put", len(got), err, len(envs[1]))
		}
		if n := stExpire(t, s, exp, 0); n != 6 {
			t.Errorf("Expire removed %d, want 6", n)
		}
		badgerCheckIndex(t, s)
	})

	t.Run("options", func(t *testing.T) {
		for _, n := range []int{-1, envelope.HeaderSize - 1, badgerMaxEnvelope + 1} {
			if s, err := OpenBadgerStore(BadgerOptions{InMemory: true, MaxEnvelopeSize: n}); err == nil {
				s.Close()
				t.Errorf("OpenBadgerStore with MaxEnvelopeSize %d: got nil error, want one", n)
			}
		}
		// The default leaves room for two default-size envelopes and
		// their chunk keys, and more than 1 MiB besides.
		s := stOpenBadger(t, BadgerOptions{InMemory: true, GCInterval: -1})
		perEnv := int64(badgerDefaultMaxEnvelope + badgerChunkCount(badgerDefaultMaxEnvelope)*(badgerChunkKeySize+badgerEntryCost))
		if got, min := s.db.MaxBatchSize(), 2*perEnv+badgerMemRecordRoom; got <= min {
			t.Errorf("in-memory transaction limit %d, want more than %d", got, min)
		}
	})
}

// badgerRaceEnabled reports whether the test binary was built with -race.
func badgerRaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestBadgerExpireOps expires multi-chunk envelopes with a tiny deletion
// budget per transaction: every transaction makes progress and stops
// early, and all goes in the end.
func TestBadgerExpireOps(t *testing.T) {
	const exp = 2_000_000_000
	s := stOpenBadger(t, BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true})
	s.expireOps = 3 // a held envelope of 3 chunks takes 5 deletions
	const n = 5
	for i := range n {
		env, meta := stBigEnvelope(t, envelope.HeaderSize+badgerChunkSize+100, exp-int64(i), uint8(i))
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
	}
	removed, more, err := s.expireChunk(badgerPrefixHeld, exp, badgerExpireChunk)
	if err != nil || removed != 1 || !more {
		t.Errorf("expireChunk: got %d, %v, %v; want 1, true, nil", removed, more, err)
	}
	if got := stExpire(t, s, exp, 0); got != n-1+n { // the other held and every seen entry
		t.Errorf("Expire removed %d, want %d", got, 2*n-1)
	}
	if st := stLoad(t, s); len(st.held) != 0 {
		t.Errorf("held after Expire: %v", st.held)
	}
	badgerCheckIndex(t, s)
}
