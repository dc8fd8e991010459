package inbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/toxmail/toxmail/internal/badgerdir"
)

// reopen closes b and opens its directory again.
func reopen(t *testing.T, b *Inbox, dir string, c *testClock) *Inbox {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openTest(t, dir, c)
}

// TestPersist: deliver, close, reopen, list, get, delete, reopen again.
func TestPersist(t *testing.T) {
	dir := t.TempDir()
	c := newTestClock()
	b := openTest(t, dir, c)
	mails := map[EnvelopeID][]byte{
		testID(0xa1): []byte("Subject: one\r\n\r\nhello\r\n"),
		testID(0xb2): pattern(3*chunkSize + 17),
		testID(0xc3): []byte("Subject: three\r\n\r\nbye\r\n"),
	}
	order := []EnvelopeID{testID(0xa1), testID(0xb2), testID(0xc3)}
	for _, id := range order {
		mustDeliver(t, b, id, testMeta(c, 24*time.Hour), mails[id], true)
		c.Advance(time.Minute)
	}
	before, err := b.List()
	if err != nil {
		t.Fatal(err)
	}

	b = reopen(t, b, dir, c)
	after, err := b.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("List after reopen: %d mails, want %d", len(after), len(before))
	}
	for i := range before {
		got, want := after[i], before[i]
		if got.Seq != want.Seq || got.UID != want.UID || got.Size != want.Size ||
			!got.Received.Equal(want.Received) || !got.Meta.KeepUntil.Equal(want.Meta.KeepUntil) {
			t.Errorf("List[%d] after reopen: got %+v, want %+v", i, got, want)
		}
		mustGet(t, b, got.UID, mails[got.Envelope])
	}

	if err := b.Delete(testID(0xc3).UID()); err != nil { // the newest: its Seq must not come back
		t.Fatal(err)
	}
	mustDeliver(t, b, testID(0xc3), testMeta(c, 24*time.Hour), []byte("again"), false)

	b = reopen(t, b, dir, c)
	ms, err := b.List()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := uids(ms), []string{testID(0xa1).UID(), testID(0xb2).UID()}; !slices.Equal(got, want) {
		t.Fatalf("List after delete and reopen: got %q, want %q", got, want)
	}
	mustDeliver(t, b, testID(0xc3), testMeta(c, 24*time.Hour), []byte("again"), false)
	mustDeliver(t, b, testID(0xa1), testMeta(c, 24*time.Hour), []byte("again"), false)
	mustDeliver(t, b, testID(0xd4), testMeta(c, 24*time.Hour), []byte("four"), true)
	m := mustGet(t, b, testID(0xd4).UID(), []byte("four"))
	if m.Seq != 4 {
		t.Fatalf("Seq after reopen = %d, want 4 (never reused)", m.Seq)
	}
}

func TestRecoverInterruptedDelivery(t *testing.T) {
	dir := t.TempDir()
	c := newTestClock()
	b := openTest(t, dir, c)
	id := testID(0xee)
	d, err := b.Begin(id, testMeta(c, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write(pattern(5*chunkSize/2 + 3)); err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, b, prefixPending); got != 1 {
		t.Fatalf("pending markers while staging: %d, want 1", got)
	}
	// "Crash": close without Commit or Abort.
	b = reopen(t, b, dir, c)
	for _, p := range []byte{prefixBody, prefixPending, prefixMessage, prefixIndex} {
		if got := countKeys(t, b, p); got != 0 {
			t.Errorf("keys %q after recovery: %d, want 0", p, got)
		}
	}
	if ok, _ := b.Has(id); ok {
		t.Fatal("Has(interrupted) = true, want false")
	}
	mustDeliver(t, b, id, testMeta(c, time.Hour), []byte("whole"), true)
}

func TestRecoverInterruptedDelete(t *testing.T) {
	dir := t.TempDir()
	c := newTestClock()
	b := openTest(t, dir, c)
	id := testID(0xdd)
	mustDeliver(t, b, id, testMeta(c, time.Hour), pattern(2*chunkSize+1), true)
	// Do Delete's transaction by hand and "crash" before the purge.
	err := b.db.Update(func(txn *badger.Txn) error {
		s, err := lookup(txn, id)
		if err != nil {
			return err
		}
		txn.Delete(messageKey(s.Seq))
		txn.Delete(indexKey(id))
		txn.Set(tombKey(id), encodeTomb(s.Meta.KeepUntil))
		return txn.Set(pendingKey(s.body), encodePending(pendingDeleted))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, b, prefixBody); got != 3 {
		t.Fatalf("chunks before recovery: %d, want 3", got)
	}
	b = reopen(t, b, dir, c)
	if got := countKeys(t, b, prefixBody) + countKeys(t, b, prefixPending); got != 0 {
		t.Fatalf("chunks and markers after recovery: %d, want 0", got)
	}
	mustDeliver(t, b, id, testMeta(c, time.Hour), []byte("x"), false)
}

func TestOpenDir(t *testing.T) {
	dir := t.TempDir() + "/a/b"
	b, err := Open(Options{Dir: dir, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("mode of new Dir: got %v, want %v", got, os.FileMode(0o700))
	}
	if _, err := Open(Options{}); err == nil {
		t.Errorf("Open without Dir or InMemory succeeded")
	}
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		val  []byte
	}{
		{"other data", []byte("hello"), []byte("world")},
		{"other schema", keyVersion, []byte("toxmail-inbox\x00\x00\x00\x09")},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		db, err := badger.Open(small(badger.DefaultOptions(dir).WithLogger(nil)))
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(txn *badger.Txn) error { return txn.Set(tt.key, tt.val) })
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b, err := Open(Options{Dir: dir, tune: small}); err == nil {
			b.Close()
			t.Errorf("%s: Open succeeded, want error", tt.name)
		}
	}
}

// TestOpenRefusesLostManifest: an inbox whose MANIFEST is gone is refused
// (badger alone would open it empty, deleting the mail in its tables), and
// once the MANIFEST is back it opens with its mail.
func TestOpenRefusesLostManifest(t *testing.T) {
	dir := t.TempDir()
	c := newTestClock()
	b, err := Open(Options{Dir: dir, Now: c.Now, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	id := testID(1)
	mustDeliver(t, b, id, testMeta(c, time.Hour), pattern(100), true)
	b.Close() // the mail's records are flushed to a table
	manifest := filepath.Join(dir, badger.ManifestFilename)
	saved, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	if b, err := Open(Options{Dir: dir, Now: c.Now, tune: small}); !errors.Is(err, badgerdir.ErrDamaged) {
		if err == nil {
			b.Close()
		}
		t.Fatalf("Open without a MANIFEST = %v, want ErrDamaged", err)
	}
	if err := os.WriteFile(manifest, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	b = openTest(t, dir, c)
	if _, _, err := b.Get(id.UID()); err != nil {
		t.Fatalf("after the MANIFEST was put back: %v", err)
	}
}
