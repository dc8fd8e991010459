package mesh

import (
	"bytes"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/toxmail/toxmail/envelope"
)

// TestBadgerSeenRecordsDoesNotWait: the dashboard and `toxmail status`
// read the seen count while the node may be in a long Expire, which holds
// the store's write lock throughout; the count must not wait for it.
func TestBadgerSeenRecordsDoesNotWait(t *testing.T) {
	s := stOpenBadger(t, BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true})
	stApply(t, s, func(b *Batch) {
		for i := range 5 {
			b.MarkSeen(stID(i), 1000)
		}
	})
	s.writeMu.Lock() // as Expire does, for as long as it runs
	defer s.writeMu.Unlock()
	got := make(chan int, 1)
	go func() {
		c, _ := s.SeenRecords()
		got <- c
	}()
	select {
	case c := <-got:
		if c != 5 {
			t.Fatalf("SeenRecords = %d, want 5", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SeenRecords waited for the store's write lock")
	}
}

// TestBadgerSeenBound: past MaxSeen the store forgets the IDs expiring
// soonest, so a friend pushing envelopes cannot fill the disk with their
// seen records; the count survives a reopen, and a lower bound given at
// reopen is reached by Expire.
func TestBadgerSeenBound(t *testing.T) {
	const limit, n = 100, 250
	opts := BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true, MaxSeen: limit}
	s := stOpenBadger(t, opts)
	// Expiries in a scrambled order: record i expires at 1000+i.
	for k := 0; k < n; k += 10 {
		stApply(t, s, func(b *Batch) {
			for j := k; j < k+10; j++ {
				i := (j * 97) % n
				b.MarkSeen(stID(i), 1000+int64(i))
			}
		})
		if c, _ := s.SeenRecords(); c > limit {
			t.Fatalf("after %d IDs the seen set holds %d, over MaxSeen %d", k+10, c, limit)
		}
	}
	// Marking a known ID again adds nothing.
	stApply(t, s, func(b *Batch) { b.MarkSeen(stID(n-1), 1000+n-1) })
	c, ev := s.SeenRecords()
	if c != limit || ev != n-limit {
		t.Fatalf("SeenRecords = %d, %d evicted; want %d, %d", c, ev, limit, n-limit)
	}
	for i := range n {
		if got, want := stSeen(t, s, stID(i)), i >= n-limit; got != want {
			t.Errorf("Seen(%d) = %v, want %v (only the %d expiring last are kept)", i, got, want, limit)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	opts.MaxSeen = 40
	s = stOpenBadger(t, opts)
	if c, _ := s.SeenRecords(); c != limit {
		t.Fatalf("after reopening, SeenRecords = %d, want %d", c, limit)
	}
	if removed := stExpire(t, s, 1000+n-limit+9, 0); removed != 10 {
		t.Errorf("Expire removed %d expired records, want 10", removed)
	}
	if c, ev := s.SeenRecords(); c != 40 || ev != limit-10-40 {
		t.Errorf("after Expire, SeenRecords = %d, %d evicted; want 40, %d", c, ev, limit-10-40)
	}
	for i := range n {
		if got, want := stSeen(t, s, stID(i)), i >= n-40; got != want {
			t.Errorf("after Expire, Seen(%d) = %v, want %v", i, got, want)
		}
	}
}

// TestBadgerSeenBoundPerApply: an Apply forgets at most badgerExpireChunk
// IDs, so a store far over a lowered bound never stalls one write; Expire
// then goes all the way down.
func TestBadgerSeenBoundPerApply(t *testing.T) {
	const n = 2500
	opts := BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true}
	s := stOpenBadger(t, opts)
	for k := 0; k < n; k += 500 {
		stApply(t, s, func(b *Batch) {
			for i := k; i < k+500; i++ {
				b.MarkSeen(stID(i), 5000+int64(i))
			}
		})
	}
	if c, ev := s.SeenRecords(); c != n || ev != 0 {
		t.Fatalf("with no bound, SeenRecords = %d, %d; want %d, 0", c, ev, n)
	}
	s.Close()
	opts.MaxSeen = 100
	s = stOpenBadger(t, opts)
	stApply(t, s, func(b *Batch) { b.MarkSeen(stID(n), 5000+n) })
	if c, _ := s.SeenRecords(); c != n+1-badgerExpireChunk {
		t.Errorf("after one Apply, SeenRecords = %d, want %d", c, n+1-badgerExpireChunk)
	}
	stExpire(t, s, 0, 0)
	if c, _ := s.SeenRecords(); c != 100 {
		t.Errorf("after Expire, SeenRecords = %d, want 100", c)
	}
	if !stSeen(t, s, stID(n)) || stSeen(t, s, stID(n-100)) {
		t.Error("the wrong IDs were forgotten")
	}
}

// TestBadgerSeenBoundModel runs random marks and expiries against a model
// of the bound: records ordered by (expiry, ID), the soonest forgotten
// first, at most badgerExpireChunk per Apply.
func TestBadgerSeenBoundModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		limit := rapid.IntRange(1, 12).Draw(rt, "max")
		s, err := OpenBadgerStore(BadgerOptions{InMemory: true, GCInterval: -1, MaxSeen: limit})
		if err != nil {
			rt.Fatalf("OpenBadgerStore: %v", err)
		}
		defer s.Close()
		model := map[envelope.ID]int64{}
		bound := func() {
			for len(model) > limit {
				var first envelope.ID
				firstExp := int64(math.MaxInt64)
				for id, e := range model {
					if e < firstExp || e == firstExp && bytes.Compare(id[:], first[:]) < 0 {
						first, firstExp = id, e
					}
				}
				delete(model, first)
			}
		}
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			if rapid.IntRange(0, 4).Draw(rt, "op") == 0 {
				now := rapid.Int64Range(0, 30).Draw(rt, "now")
				if _, err := s.Expire(now, 0); err != nil {
					rt.Fatalf("Expire: %v", err)
				}
				for id, e := range model {
					if e <= now {
						delete(model, id)
					}
				}
			} else {
				var b Batch
				for range rapid.IntRange(1, 5).Draw(rt, "marks") {
					id := stID(rapid.IntRange(0, 30).Draw(rt, "id"))
					exp := rapid.Int64Range(1, 30).Draw(rt, "expiry")
					b.MarkSeen(id, exp)
					model[id] = max(model[id], exp)
				}
				if err := s.Apply(&b); err != nil {
					rt.Fatalf("Apply: %v", err)
				}
			}
			bound()
			if c, _ := s.SeenRecords(); c != len(model) {
				rt.Fatalf("SeenRecords = %d, model has %d", c, len(model))
			}
			for i := range 31 {
				id := stID(i)
				_, want := model[id]
				if got, err := s.Seen(id); err != nil || got != want {
					rt.Fatalf("Seen(%d) = %v, %v; model says %v (model %v)", i, got, err, want, slices.Sorted(maps.Values(model)))
				}
			}
		}
	})
}

// TestBadgerCacheAdviceQuiet: badger's minutely advice to grow the block
// cache (small on purpose) is logged at debug level, other warnings as
// warnings.
func TestBadgerCacheAdviceQuiet(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Warningf("%s might be too small. Metrics: %s\n", "Block cache", "hit: 1 miss: 9")
	l.Warningf("Cache life expectancy (in seconds): %+v\n", "histogram")
	l.Warningf("Truncate vlog file %s\n", "000001.vlog")
	want := []string{"level=DEBUG", "level=DEBUG", "level=WARN"}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("logged:\n%s", buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d: %s, want %s", i, lines[i], w)
		}
	}
}
