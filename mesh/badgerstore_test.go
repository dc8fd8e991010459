package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"pgregory.net/rapid"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/internal/badgerdir"
)

// TestBadgerPersist fills a store on disk, closes and reopens it, and
// checks that everything is there, byte for byte; then that what Expire
// removed stays removed across another reopen.
func TestBadgerPersist(t *testing.T) {
	dir := t.TempDir()
	opts := BadgerOptions{Dir: dir, GCInterval: -1}
	const (
		base = 2_000_000_000 // 2033
		n    = 20
	)

	s := stOpenBadger(t, opts)
	envs := make(map[envelope.ID][]byte)
	var b Batch
	for i := range n {
		env, meta := stEnvelope(t, base+int64(i)*10, uint8(i%8), fmt.Sprintf("mail %d", i))
		meta.Own = i%3 == 0
		envs[meta.ID] = env
		b.PutHeld(meta, env)
		b.PutAck(AckRecord{Ack: envelope.Ack{ID: stID(i), Secret: envelope.AckSecret{byte(i)}}, Expiry: base + int64(i)*10})
		b.MarkSeen(stID(1000+i), base+int64(i)*10)
		b.PutOutbox(OutboxEntry{
			ID: stID(2000 + i), To: envelope.PublicKey{byte(i)}, Created: base*1000 + int64(i),
			Expiry: base + int64(i)*10, Size: 700 + i, Status: StatusOffered, Offered: base * 1000,
			Label: fmt.Sprintf("<%d@example.org>", i),
		})
	}
	if err := s.Apply(&b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// Change some hop counters after the put, in a second transaction.
	var hops Batch
	for id := range envs {
		hops.SetHops(id, 1)
		envelope.SetHops(envs[id], 1)
		break
	}
	stApply(t, s, func(b *Batch) { *b = hops })
	before := stLoad(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = stOpenBadger(t, opts)
	after := stLoad(t, s)
	badgerCompareStates(t, "after reopen", after, before)
	for id, want := range envs {
		got, err := s.Envelope(id)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Envelope(%s) after reopen: got %d bytes, %v; want the %d bytes put", id.Short(), len(got), err, len(want))
		}
		if !stSeen(t, s, id) {
			t.Errorf("Seen(%s) after reopen = false, want true", id.Short())
		}
	}
	for i := range n {
		if !stSeen(t, s, stID(1000+i)) {
			t.Errorf("Seen(marked %d) after reopen = false, want true", i)
		}
	}

	// Expire the first half: held, acks and seen first, then, once the
	// retention is over, the outbox.
	removed := stExpire(t, s, base+90, 1000)
	if want := 10 * (2 + 2 + 1); removed != want { // held and its seen, ack and its seen, marked seen
		t.Errorf("Expire removed %d, want %d", removed, want)
	}
	if got := stLoad(t, s); len(got.outbox) != n {
		t.Errorf("outbox entries within retention: got %d, want %d", len(got.outbox), n)
	}
	if removed := stExpire(t, s, base+95, 5); removed != 10 {
		t.Errorf("Expire after the retention removed %d, want %d", removed, 10)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = stOpenBadger(t, opts)
	st := stLoad(t, s)
	if len(st.held) != 10 || len(st.acks) != 10 || len(st.outbox) != 10 {
		t.Errorf("after expire and reopen: %d held, %d acks, %d outbox; want 10 each", len(st.held), len(st.acks), len(st.outbox))
	}
	for id, m := range before.held {
		_, kept := st.held[id]
		if want := m.Expiry > base+90; kept != want {
			t.Errorf("held expiring at base%+d kept %v, want %v", m.Expiry-base, kept, want)
		}
		if _, err := s.Envelope(id); (err == nil) != kept {
			t.Errorf("Envelope of held expiring at base%+d: got %v, want present %v", m.Expiry-base, err, kept)
		}
	}
	for i := range n {
		if got, want := stSeen(t, s, stID(1000+i)), i > 9; got != want {
			t.Errorf("Seen(marked %d) after expire and reopen: got %v, want %v", i, got, want)
		}
	}
	if got := stExpire(t, s, base+95, 5); got != 0 {
		t.Errorf("Expire after reopen removed %d, want 0", got)
	}
	badgerCheckIndex(t, s)
}

func badgerCompareStates(t *testing.T, when string, got, want stState) {
	t.Helper()
	if fmt.Sprint(got.held) != fmt.Sprint(want.held) {
		t.Errorf("%s: held %v, want %v", when, got.held, want.held)
	}
	if fmt.Sprint(got.acks) != fmt.Sprint(want.acks) {
		t.Errorf("%s: acks %v, want %v", when, got.acks, want.acks)
	}
	if fmt.Sprint(got.outbox) != fmt.Sprint(want.outbox) {
		t.Errorf("%s: outbox %v, want %v", when, got.outbox, want.outbox)
	}
}

// TestBadgerExpireUsesNow checks that expiry follows the now passed to
// Expire, never the wall clock, in both directions: records expiring in
// 2035 go when now is 2040, and records that expired in 2001 by the wall
// clock stay while the node's clock says 2000.
func TestBadgerExpireUsesNow(t *testing.T) {
	var (
		y2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		y2001 = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		y2035 = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		y2040 = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	)
	for _, tc := range []struct {
		name     string
		expiry   int64
		early    int64 // a now before expiry: nothing goes
		late     int64 // a now after expiry: everything goes
		wantTTL  bool
		wantLate int
	}{
		{"future", y2035, y2035 - 1, y2040, true, 6},
		{"past", y2001, y2000, y2001, false, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stOpenBadger(t, BadgerOptions{Dir: t.TempDir(), GCInterval: -1})
			env, meta := stEnvelope(t, tc.expiry, 3, tc.name)
			stApply(t, s, func(b *Batch) {
				b.PutHeld(meta, env)
				b.MarkSeen(stID(1), tc.expiry)
				b.PutAck(AckRecord{Ack: envelope.Ack{ID: stID(2)}, Expiry: tc.expiry})
				b.PutOutbox(OutboxEntry{ID: stID(3), Expiry: tc.expiry, Status: StatusQueued})
			})
			if n := stExpire(t, s, tc.early, 0); n != 0 {
				t.Errorf("Expire(%v) removed %d, want 0", time.Unix(tc.early, 0).UTC(), n)
			}
			for _, id := range []envelope.ID{meta.ID, stID(1), stID(2)} {
				if !stSeen(t, s, id) {
					t.Errorf("Seen(%s) before its logical expiry = false, want true", id.Short())
				}
			}
			if _, err := s.Envelope(meta.ID); err != nil {
				t.Errorf("Envelope before its logical expiry: %v", err)
			}
			badgerCheckTTL(t, s, tc.expiry, tc.wantTTL)
			if n := stExpire(t, s, tc.late, 0); n != tc.wantLate {
				t.Errorf("Expire(%v) removed %d, want %d", time.Unix(tc.late, 0).UTC(), n, tc.wantLate)
			}
			if st := stLoad(t, s); len(st.held)+len(st.acks)+len(st.outbox) != 0 {
				t.Errorf("after Expire: %v", st)
			}
			badgerCheckIndex(t, s)
		})
	}
}

// badgerCheckTTL checks that every record but the outbox carries the TTL
// expiry+grace, or none if wantTTL is false; outbox records never do.
func badgerCheckTTL(t *testing.T, s *BadgerStore, expiry int64, wantTTL bool) {
	t.Helper()
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			var want uint64
			outbox := k[0] == badgerPrefixOutbox || (k[0] == badgerPrefixIndex && k[1] == badgerPrefixOutbox)
			if wantTTL && !outbox && k[0] != badgerPrefixVersion {
				want = uint64(expiry + badgerTTLGrace)
			}
			if got := it.Item().ExpiresAt(); got != want {
				t.Errorf("key %q: ExpiresAt %d, want %d", k, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// badgerIndexProblems lists the differences between the expiry index and
// the records: every record has exactly one index key, carrying its
// expiry; every held meta has exactly the envelope chunks its length calls
// for, each of the right size; and there are no other chunks.
func badgerIndexProblems(s *BadgerStore) ([]string, error) {
	var problems []string
	want := make(map[string]bool)
	got := make(map[string]bool)
	metas := make(map[envelope.ID]int)          // envelope length
	chunks := make(map[envelope.ID]map[int]int) // chunk → size
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			var v []byte
			var err error
			if k[0] == badgerPrefixEnv {
				// Only the size matters: do not copy megabytes.
				err = item.Value(func(b []byte) error { v = b[:len(b):len(b)]; return nil })
			} else {
				v, err = item.ValueCopy(nil)
			}
			if err != nil {
				return err
			}
			switch k[0] {
			case badgerPrefixVersion:
			case badgerPrefixIndex:
				if _, _, _, err := badgerParseIndexKey(k); err != nil {
					problems = append(problems, err.Error())
				}
				got[string(k)] = true
			case badgerPrefixEnv:
				id, i, err := badgerParseChunkKey(k)
				if err != nil {
					problems = append(problems, err.Error())
					break
				}
				if chunks[id] == nil {
					chunks[id] = make(map[int]int)
				}
				chunks[id][i] = len(v) // v is not kept
			case badgerPrefixHeld, badgerPrefixSeen, badgerPrefixAck, badgerPrefixOutbox:
				id, err := badgerIDFromKey(k)
				if err != nil {
					return err
				}
				exp, err := badgerRecordExpiry(k[0], v)
				if err != nil {
					return err
				}
				want[string(badgerIndexKey(k[0], exp, id))] = true
				if k[0] == badgerPrefixHeld {
					_, metas[id], _ = badgerDecodeHeld(v)
				}
			default:
				problems = append(problems, fmt.Sprintf("unknown key %x", k))
			}
		}
		return nil
	})
	for k := range want {
		if !got[k] {
			problems = append(problems, fmt.Sprintf("missing index key %x", k))
		}
	}
	for k := range got {
		if !want[k] {
			problems = append(problems, fmt.Sprintf("stale index key %x", k))
		}
	}
	for id, envLen := range metas {
		n := badgerChunkCount(envLen)
		for i := range n {
			lo, hi := badgerChunkBounds(i, envLen)
			if size, ok := chunks[id][i]; !ok || size != hi-lo {
				problems = append(problems, fmt.Sprintf("held %s of %d bytes: chunk %d of %d has %d bytes (present %v), want %d", id.Short(), envLen, i, n, size, ok, hi-lo))
			}
		}
		for i := range chunks[id] {
			if i >= n {
				problems = append(problems, fmt.Sprintf("held %s of %d bytes has a stale chunk %d", id.Short(), envLen, i))
			}
		}
	}
	for id := range chunks {
		if _, ok := metas[id]; !ok {
			problems = append(problems, fmt.Sprintf("chunks of %s have no meta", id.Short()))
		}
	}
	return problems, err
}

func badgerCheckIndex(t *testing.T, s *BadgerStore) {
	t.Helper()
	problems, err := badgerIndexProblems(s)
	if err != nil {
		t.Fatalf("walking the store: %v", err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// badgerCheckIndexRapid is the state machine's extra check for badger.
func badgerCheckIndexRapid(t *rapid.T, s Store) {
	problems, err := badgerIndexProblems(s.(*BadgerStore))
	if err != nil {
		t.Fatalf("walking the store: %v", err)
	}
	if len(problems) > 0 {
		t.Fatalf("index inconsistent: %s", strings.Join(problems, "; "))
	}
}

// TestBadgerExpireChunks expires more records than one Expire transaction
// handles.
func TestBadgerExpireChunks(t *testing.T) {
	s := stOpenBadger(t, BadgerOptions{InMemory: true})
	const n = 2*badgerExpireChunk + 17
	for i := 0; i < n; i += 500 {
		stApply(t, s, func(b *Batch) {
			for j := i; j < min(i+500, n); j++ {
				b.MarkSeen(stID(j), 100+int64(j%7))
			}
		})
	}
	stApply(t, s, func(b *Batch) { b.MarkSeen(stID(n), 1000) })
	if got := stExpire(t, s, 500, 0); got != n {
		t.Errorf("Expire removed %d, want %d", got, n)
	}
	if !stSeen(t, s, stID(n)) {
		t.Errorf("Seen of the one record not expired = false, want true")
	}
	badgerCheckIndex(t, s)
}

// TestBadgerCorruptRecords checks that corrupt records are errors, not
// panics, and that they can still be replaced and expired.
func TestBadgerCorruptRecords(t *testing.T) {
	const exp = 2_000_000_000
	for _, tc := range []struct {
		name  string
		key   []byte
		fill  func(b *Batch, env []byte, meta HeldMeta)
		check func(s *BadgerStore) error
	}{
		{"held", nil, func(b *Batch, env []byte, meta HeldMeta) { b.PutHeld(meta, env) },
			func(s *BadgerStore) error { return s.Load(func(HeldMeta) error { return nil }, nil, nil) }},
		{"ack", badgerKey(badgerPrefixAck, stID(1)), func(b *Batch, _ []byte, _ HeldMeta) {
			b.PutAck(AckRecord{Ack: envelope.Ack{ID: stID(1)}, Expiry: exp})
		}, func(s *BadgerStore) error { return s.Load(nil, func(AckRecord) error { return nil }, nil) }},
		{"outbox", badgerKey(badgerPrefixOutbox, stID(1)), func(b *Batch, _ []byte, _ HeldMeta) {
			b.PutOutbox(OutboxEntry{ID: stID(1), Expiry: exp, Status: StatusQueued})
		}, func(s *BadgerStore) error { return s.Load(nil, nil, func(OutboxEntry) error { return nil }) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stOpenBadger(t, BadgerOptions{InMemory: true})
			env, meta := stEnvelope(t, exp, 3, "corrupt")
			key := tc.key
			if key == nil {
				key = badgerKey(badgerPrefixHeld, meta.ID)
			}
			stApply(t, s, func(b *Batch) { tc.fill(b, env, meta) })
			err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, []byte{1, 2, 3}) })
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.check(s); !errors.Is(err, errBadgerCorrupt) {
				t.Errorf("Load of a corrupt record: got %v, want %v", err, errBadgerCorrupt)
			}
			if tc.name == "held" {
				var b Batch
				b.SetHops(meta.ID, 1)
				if err := s.Apply(&b); !errors.Is(err, errBadgerCorrupt) {
					t.Errorf("SetHops of a corrupt record: got %v, want %v", err, errBadgerCorrupt)
				}
			}
			// A corrupt record is replaced by a new put...
			stApply(t, s, func(b *Batch) { tc.fill(b, env, meta) })
			if err := tc.check(s); err != nil {
				t.Errorf("Load after replacing the corrupt record: %v", err)
			}
			// ...and expired with everything else.
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, []byte{9}) }); err != nil {
				t.Fatal(err)
			}
			stExpire(t, s, exp, 0)
			if err := tc.check(s); err != nil {
				t.Errorf("Load after expiring the corrupt record: %v", err)
			}
			badgerCheckIndex(t, s)
		})
	}
}

func TestBadgerSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBadgerStore(BadgerOptions{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte{badgerPrefixVersion}, []byte{badgerSchema + 1})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenBadgerStore(BadgerOptions{Dir: dir, GCInterval: -1})
	if err == nil {
		s.Close()
		t.Fatalf("OpenBadgerStore of a schema-%d store: got nil error, want one", badgerSchema+1)
	}
	if !strings.Contains(err.Error(), "schema") {
		t.Errorf("error %q does not mention the schema", err)
	}
}

func TestBadgerOpenErrors(t *testing.T) {
	if _, err := OpenBadgerStore(BadgerOptions{}); err == nil {
		t.Errorf("OpenBadgerStore without a directory: got nil error, want one")
	}
	dir := t.TempDir()
	s := stOpenBadger(t, BadgerOptions{Dir: dir, GCInterval: -1})
	defer s.Close()
	if s2, err := OpenBadgerStore(BadgerOptions{Dir: dir, GCInterval: -1}); err == nil {
		s2.Close()
		t.Errorf("opening a store twice: got nil error, want one (the directory lock)")
	}
}

// TestBadgerRefusesLostManifest: a store whose MANIFEST is gone is refused
// (badger alone would open it empty and delete its tables), and its table
// files are left as they were.
func TestBadgerRefusesLostManifest(t *testing.T) {
	dir := t.TempDir()
	s := stOpenBadger(t, BadgerOptions{Dir: dir, GCInterval: -1})
	s.Close() // the schema record is flushed to a table
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("closing the store left no table")
	}
	if err := os.Remove(filepath.Join(dir, badger.ManifestFilename)); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenBadgerStore(BadgerOptions{Dir: dir, GCInterval: -1}); !errors.Is(err, badgerdir.ErrDamaged) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("OpenBadgerStore without a MANIFEST = %v, want ErrDamaged", err)
	}
	if after, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(after) != len(tables) {
		t.Fatalf("%d tables before, %d after", len(tables), len(after))
	}
}

// TestBadgerGC runs value-log GC on a store with deleted large envelopes,
// by hand and from the background loop.
func TestBadgerGC(t *testing.T) {
	logs := &testLog{}
	s := stOpenBadger(t, BadgerOptions{
		Dir: t.TempDir(), GCInterval: 20 * time.Millisecond, NoSync: true,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	body := strings.Repeat("x", 16<<10) // above the value threshold
	var ids []envelope.ID
	for i := range 40 {
		env, meta := stEnvelope(t, 2_000_000_000, 3, fmt.Sprintf("%d%s", i, body))
		ids = append(ids, meta.ID)
		stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
	}
	stApply(t, s, func(b *Batch) {
		for _, id := range ids[:30] {
			b.DeleteHeld(id)
		}
	})
	if err := s.RunGC(); err != nil {
		t.Errorf("RunGC: %v", err)
	}
	time.Sleep(60 * time.Millisecond) // let the background loop run at least once
	for _, id := range ids[30:] {
		if _, err := s.Envelope(id); err != nil {
			t.Errorf("Envelope after GC: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.RunGC(); err == nil {
		t.Errorf("RunGC after Close: got nil error, want one")
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", logs)
	}

	mem := stOpenBadger(t, BadgerOptions{InMemory: true})
	if err := mem.RunGC(); err != nil {
		t.Errorf("RunGC in memory: got %v, want nil", err)
	}
}

// testLog is a log sink safe for the goroutines that write to it.
type testLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBadgerLogger(t *testing.T) {
	logs := &testLog{}
	l := badgerLogger{slog.New(slog.NewTextHandler(logs, nil))}
	l.Errorf("bad %d\n", 1)
	l.Warningf("odd %s\n", "thing")
	l.Infof("chatty")
	l.Debugf("chattier")
	got := logs.String()
	for _, want := range []string{`level=ERROR msg="bad 1" source=badger`, `level=WARN msg="odd thing" source=badger`} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q does not contain %q", got, want)
		}
	}
	if strings.Contains(got, "chatty") {
		t.Errorf("log %q has info or debug lines", got)
	}
}

// TestBadgerConcurrent runs writers, readers and Expire at once, then
// closes the store under them: calls either work or report the closed
// store; nothing panics or races.
func TestBadgerConcurrent(t *testing.T) {
	s, err := OpenBadgerStore(BadgerOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	env, meta := stEnvelope(t, 2_000_000_000, 5, "concurrent")
	stApply(t, s, func(b *Batch) { b.PutHeld(meta, env) })
	var wg sync.WaitGroup
	stop := make(chan struct{})
	worker := func(f func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(i); err != nil && !errors.Is(err, errClosed) {
					t.Errorf("concurrent call: %v", err)
					return
				}
			}
		}()
	}
	worker(func(i int) error {
		var b Batch
		b.MarkSeen(stID(i%50), int64(1000+i))
		b.SetHops(meta.ID, uint8(i))
		return s.Apply(&b)
	})
	worker(func(i int) error {
		var b Batch
		b.PutOutbox(OutboxEntry{ID: stID(i % 50), Expiry: int64(1000 + i), Status: StatusQueued})
		return s.Apply(&b)
	})
	worker(func(i int) error { _, err := s.Seen(stID(i % 50)); return err })
	worker(func(i int) error {
		env, err := s.Envelope(meta.ID)
		if err == nil && envelope.ComputeID(env) != meta.ID {
			return errors.New("envelope changed its ID")
		}
		return err
	})
	worker(func(i int) error { _, err := s.Expire(int64(1000+i/2), 10); return err })
	worker(func(i int) error {
		return s.Load(func(m HeldMeta) error {
			_, err := s.Seen(m.ID) // a callback may call the store
			return err
		}, nil, nil)
	})
	time.Sleep(100 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// FuzzBadgerDecode feeds every record decoder arbitrary bytes: none may
// panic, and whatever decodes re-encodes to the same bytes.
func FuzzBadgerDecode(f *testing.F) {
	held := HeldMeta{ID: stID(1), Expiry: 5, Hops: 3, Size: 900, Tag: envelope.Tag{1}, Own: true}
	f.Add(badgerEncodeHeld(&held, 900))
	f.Add(badgerChunkKey(stID(5), 7))
	f.Add(badgerEncodeSeen(badgerSeen{expiry: -7}))
	f.Add(badgerEncodeSeen(badgerSeen{expiry: 9, evicted: true, ackHash: [envelope.AckHashSize]byte{4}}))
	f.Add(badgerEncodeAck(&AckRecord{Ack: envelope.Ack{ID: stID(2), Secret: envelope.AckSecret{3}}, Expiry: 9}))
	f.Add(badgerEncodeOutbox(&OutboxEntry{ID: stID(3), Status: StatusExpired, Label: "label"}))
	f.Add(badgerIndexKey(badgerPrefixSeen, -1, stID(4)))
	f.Add([]byte{})
	f.Add([]byte{badgerRecordV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, n, err := badgerDecodeHeld(b); err == nil {
			if got := badgerEncodeHeld(&m, n); !bytes.Equal(got, b) {
				t.Errorf("held: re-encoded %x, decoded from %x", got, b)
			}
		}
		if id, i, err := badgerParseChunkKey(b); err == nil {
			if got := badgerChunkKey(id, i); !bytes.Equal(got, b) {
				t.Errorf("chunk key: re-encoded %x, parsed from %x", got, b)
			}
		}
		if e, err := badgerDecodeSeen(b); err == nil {
			if got := badgerEncodeSeen(e); !bytes.Equal(got, b) {
				t.Errorf("seen: re-encoded %x, decoded from %x", got, b)
			}
		}
		if a, err := badgerDecodeAck(b); err == nil {
			if got := badgerEncodeAck(&a); !bytes.Equal(got, b) {
				t.Errorf("ack: re-encoded %x, decoded from %x", got, b)
			}
		}
		if o, err := badgerDecodeOutbox(b); err == nil {
			if got := badgerEncodeOutbox(&o); !bytes.Equal(got, b) {
				t.Errorf("outbox: re-encoded %x, decoded from %x", got, b)
			}
		}
		if kind, exp, id, err := badgerParseIndexKey(b); err == nil {
			if got := badgerIndexKey(kind, exp, id); !bytes.Equal(got, b) {
				t.Errorf("index key: re-encoded %x, parsed from %x", got, b)
			}
		}
		if len(b) > 0 {
			for _, kind := range []byte{badgerPrefixHeld, badgerPrefixSeen, badgerPrefixAck, badgerPrefixOutbox, 0} {
				badgerRecordExpiry(kind, b)
			}
		}
	})
}

// TestBadgerIndexKeyOrder checks that index keys sort by expiry, negative
// expiries included.
func TestBadgerIndexKeyOrder(t *testing.T) {
	exps := []int64{-1 << 62, -2, -1, 0, 1, 2, 1_000_000, 1 << 62}
	for i := 1; i < len(exps); i++ {
		a := badgerIndexKey(badgerPrefixSeen, exps[i-1], stID(9))
		b := badgerIndexKey(badgerPrefixSeen, exps[i], stID(0))
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("index key of %d does not sort before that of %d", exps[i-1], exps[i])
		}
		if _, got, _, _ := badgerParseIndexKey(b); got != exps[i] {
			t.Errorf("parsed expiry: got %d, want %d", got, exps[i])
		}
	}
}

func TestBadgerSubSat(t *testing.T) {
	const maxI, minI = int64(^uint64(0) >> 1), -int64(^uint64(0)>>1) - 1
	for _, tc := range []struct{ a, b, want int64 }{
		{10, 3, 7},
		{10, -3, 13},
		{minI + 1, 5, minI},
		{maxI - 1, -5, maxI},
		{0, minI, maxI},
	} {
		if got := badgerSubSat(tc.a, tc.b); got != tc.want {
			t.Errorf("badgerSubSat(%d, %d): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestBadgerCorruptHeldChunks checks that the chunks of an envelope whose
// held record is corrupt are still found and removed, and that missing or
// mis-sized chunks are reported as corruption.
func TestBadgerCorruptHeldChunks(t *testing.T) {
	const exp = 2_000_000_000
	s := stOpenBadger(t, BadgerOptions{InMemory: true, GCInterval: -1})
	env, meta := stBigEnvelope(t, envelope.HeaderSize+2*badgerChunkSize+5, exp, 4) // 4 chunks
	put := func(env []byte) {
		t.Helper()
		m := meta
		m.Size = len(env)
		stApply(t, s, func(b *Batch) { b.PutHeld(m, env) })
	}
	corrupt := func(key, val []byte) {
		t.Helper()
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, val) }); err != nil {
			t.Fatal(err)
		}
	}
	heldKey := badgerKey(badgerPrefixHeld, meta.ID)

	// Missing and mis-sized chunks.
	put(env)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(badgerChunkKey(meta.ID, 2)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Envelope(meta.ID); !errors.Is(err, errBadgerCorrupt) {
		t.Errorf("Envelope with a chunk missing: got %v, want %v", err, errBadgerCorrupt)
	}
	corrupt(badgerChunkKey(meta.ID, 2), []byte{1, 2, 3})
	if _, err := s.Envelope(meta.ID); !errors.Is(err, errBadgerCorrupt) {
		t.Errorf("Envelope with a short chunk: got %v, want %v", err, errBadgerCorrupt)
	}
	corrupt(badgerChunkKey(meta.ID, 0), []byte{1, 2, 3})
	var b Batch
	b.SetHops(meta.ID, 1)
	if err := s.Apply(&b); !errors.Is(err, errBadgerCorrupt) {
		t.Errorf("SetHops with a short header chunk: got %v, want %v", err, errBadgerCorrupt)
	}

	// A corrupt held record: DeleteHeld finds every chunk.
	put(env)
	corrupt(heldKey, []byte{9})
	if _, err := s.Envelope(meta.ID); !errors.Is(err, errBadgerCorrupt) {
		t.Errorf("Envelope with a corrupt held record: got %v, want %v", err, errBadgerCorrupt)
	}
	stApply(t, s, func(b *Batch) { b.DeleteHeld(meta.ID) })
	if chunks := badgerChunks(t, s, meta.ID); len(chunks) != 0 {
		t.Errorf("chunks left after DeleteHeld of a corrupt record: %v", chunks)
	}
	stExpire(t, s, exp, 0) // drops the index key the corrupt record hid
	badgerCheckIndex(t, s)

	// A shorter envelope put over a corrupt record leaves no stale chunks.
	put(env)
	corrupt(heldKey, []byte{9})
	short, _ := stBigEnvelope(t, envelope.HeaderSize+10, exp, 4)
	put(short)
	if got, err := s.Envelope(meta.ID); err != nil || !bytes.Equal(got, short) {
		t.Errorf("Envelope after replacing a corrupt record: got %d bytes, %v; want the %d bytes put", len(got), err, len(short))
	}
	badgerCheckIndex(t, s)

	// Expire removes every chunk of a corrupt record.
	put(env)
	corrupt(heldKey, []byte{9})
	stExpire(t, s, exp, 0)
	if chunks := badgerChunks(t, s, meta.ID); len(chunks) != 0 {
		t.Errorf("chunks left after expiring a corrupt record: %v", chunks)
	}
	badgerCheckIndex(t, s)
}

// TestBadgerSchemaOld checks that a store of the schema before chunked
// envelopes is refused with a clear error.
func TestBadgerSchemaOld(t *testing.T) {
	dir := t.TempDir()
	s := stOpenBadger(t, BadgerOptions{Dir: dir, GCInterval: -1})
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte{badgerPrefixVersion}, []byte{1})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := OpenBadgerStore(BadgerOptions{Dir: dir, GCInterval: -1})
	if err == nil {
		s.Close()
		t.Fatalf("OpenBadgerStore of a schema-1 store: got nil error, want one")
	}
	for _, want := range []string{"schema 1", "older", fmt.Sprintf("schema %d", badgerSchema)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
