package inbox

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	// Near the wall clock, like the node's own.
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// small shrinks badger's memory so tests can open many databases.
func small(o badger.Options) badger.Options {
	return o.WithMemTableSize(8 << 20).WithBlockCacheSize(1 << 20).WithNumCompactors(2)
}

// openTest opens an inbox in dir ("" = in memory) with clock c, closed at
// the end of the test.
func openTest(t testing.TB, dir string, c *testClock) *Inbox {
	t.Helper()
	b, err := Open(Options{Dir: dir, InMemory: dir == "", Now: c.Now, tune: small})
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// testID returns an envelope ID whose bytes are all n.
func testID(n byte) EnvelopeID {
	var id EnvelopeID
	for i := range id {
		id[i] = n
	}
	return id
}

// testMeta returns a Meta kept for keep after c's now.
func testMeta(c *testClock, keep time.Duration) Meta {
	return Meta{
		Sender:     [32]byte{1, 2, 3},
		PathLength: 2,
		Created:    c.Now().Add(-time.Minute),
		KeepUntil:  c.Now().Add(keep),
	}
}

// pattern returns n bytes that differ between chunks.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/chunkSize)
	}
	return b
}

// mustDeliver delivers data and fails the test unless added equals want.
func mustDeliver(t testing.TB, b *Inbox, id EnvelopeID, meta Meta, data []byte, want bool) {
	t.Helper()
	added, err := b.Deliver(id, meta, data)
	if err != nil {
		t.Fatalf("Deliver(%s): %v", id.UID(), err)
	}
	if added != want {
		t.Fatalf("Deliver(%s): added = %v, want %v", id.UID(), added, want)
	}
}

// mustGet fetches uid and checks its bytes.
func mustGet(t testing.TB, b *Inbox, uid string, want []byte) Message {
	t.Helper()
	m, got, err := b.Get(uid)
	if err != nil {
		t.Fatalf("Get(%s): %v", uid, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%s): got %d bytes %.40q, want %d bytes %.40q", uid, len(got), got, len(want), want)
	}
	if m.Size != int64(len(want)) {
		t.Fatalf("Get(%s): Size = %d, want %d", uid, m.Size, len(want))
	}
	return m
}

// uids returns the UIDs of ms in order.
func uids(ms []Message) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.UID)
	}
	return s
}

// countKeys counts the keys with the given prefix.
func countKeys(t testing.TB, b *Inbox, prefix byte) int {
	t.Helper()
	n := 0
	err := b.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("countKeys(%q): %v", prefix, err)
	}
	return n
}
