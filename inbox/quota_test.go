package inbox

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestQuota walks an inbox through filling up, refusing, a duplicate, an
// exempt mail and deletion; TestInboxStateMachine checks the same rules
// against a model at random.
func TestQuota(t *testing.T) {
	c := newTestClock()
	dir := t.TempDir()
	b, err := Open(Options{Dir: dir, Now: c.Now, Quota: 1000, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	meta := testMeta(c, time.Hour)
	mustDeliver(t, b, testID(1), meta, pattern(600), true)
	mustDeliver(t, b, testID(2), meta, pattern(400), true) // exactly full

	_, err = b.Deliver(testID(3), meta, pattern(1))
	if !errors.Is(err, ErrOverQuota) {
		t.Fatalf("Deliver into a full inbox: %v, want ErrOverQuota", err)
	}
	for _, want := range []string{"mailbox full", "1000 B stored of 1000 B", "this mail is 1 B", "delete at least 1 B of mail"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if ok, _ := b.Has(testID(3)); ok {
		t.Fatal("a refused mail is marked delivered")
	}
	// A duplicate stores nothing, so it is not refused: the sender's
	// retry must learn it arrived.
	mustDeliver(t, b, testID(2), meta, pattern(400), false)

	// Mail the node makes for its owner may go past the quota, and counts:
	// the refused 1-byte mail now lacks 51 bytes.
	if added, err := b.DeliverExempt(testID(4), meta, pattern(50)); !added || err != nil {
		t.Fatalf("DeliverExempt = %v, %v; want true, nil", added, err)
	}
	if got, want := b.Usage(), (Usage{Mails: 3, Bytes: 1050, Quota: 1000, Short: 51}); got != want || !got.Full() || !got.Refusing() {
		t.Fatalf("Usage() = %+v, want %+v, full", got, want)
	}

	// Deleting makes room; the count survives a restart.
	if err := b.Delete(testID(1).UID()); err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, b, testID(3), meta, pattern(500), true)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Open(Options{Dir: dir, Now: c.Now, Quota: 1000, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, want := b.Usage(), (Usage{Mails: 3, Bytes: 950, Quota: 1000}); got != want || got.Full() {
		t.Fatalf("Usage() after reopening = %+v, want %+v, not full", got, want)
	}
}

// TestQuotaLargeMailNotStaged: a mail that cannot fit fails as soon as it
// would be staged, and leaves nothing behind.
func TestQuotaLargeMailNotStaged(t *testing.T) {
	c := newTestClock()
	b, err := Open(Options{InMemory: true, Now: c.Now, Quota: chunkSize, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d, err := b.Begin(testID(1), testMeta(c, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 3 {
		if _, werr = d.Write(pattern(chunkSize)); werr != nil {
			break
		}
	}
	if !errors.Is(werr, ErrOverQuota) {
		t.Fatalf("Write of %d bytes under a quota of %d: %v, want ErrOverQuota", 2*chunkSize, chunkSize, werr)
	}
	if added, err := d.Commit(); added || !errors.Is(err, ErrOverQuota) {
		t.Fatalf("Commit = %v, %v; want ErrOverQuota", added, err)
	}
	if got := countKeys(t, b, prefixBody) + countKeys(t, b, prefixPending); got != 0 {
		t.Fatalf("%d keys staged after ErrOverQuota, want 0", got)
	}
	if _, err := Open(Options{InMemory: true, Quota: -1}); err == nil {
		t.Error("Open with Quota -1 succeeded")
	}
}

// TestQuotaRefusing: Usage says mail waits for room from the first
// refusal, even far from full, until mail is deleted, with the room the
// largest refused mail (of those still waiting, for UsageOf) lacks now; Deliver knows the whole size before it writes,
// a streamed delivery refused part-way says "at least", and a mail that
// will not wait is refused without a record.
func TestQuotaRefusing(t *testing.T) {
	c := newTestClock()
	b, err := Open(Options{InMemory: true, Now: c.Now, Quota: 3 * chunkSize, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	meta := testMeta(c, 24*time.Hour)
	mustDeliver(t, b, testID(1), meta, pattern(chunkSize), true) // a third full
	if u := b.Usage(); u.Refusing() || u.Short != 0 {
		t.Fatalf("Usage() = %+v before any refusal", u)
	}
	// Lost if refused: no record.
	if _, err := b.DeliverNoWait(testID(5), meta, pattern(3*chunkSize)); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("DeliverNoWait of a mail too large: %v, want ErrOverQuota", err)
	}
	if u := b.Usage(); u.Refusing() {
		t.Fatalf("Usage() = %+v after refusing a mail that does not wait", u)
	}

	keys := countKeys(t, b, prefixBody) + countKeys(t, b, prefixPending)
	_, err = b.Deliver(testID(2), meta, pattern(4*chunkSize))
	if !errors.Is(err, ErrOverQuota) || !strings.Contains(err.Error(), "this mail is 2.0 MiB; delete at least 1.0 MiB of mail") {
		t.Fatalf("Deliver of a mail 2 chunks too large: %v", err)
	}
	if got := countKeys(t, b, prefixBody) + countKeys(t, b, prefixPending); got != keys {
		t.Fatalf("%d keys staged for a mail refused before it was written", got-keys)
	}
	if u := b.Usage(); !u.Refusing() || u.Full() || u.Short != 2*chunkSize {
		t.Fatalf("Usage() = %+v, want refusing, not full, short %d", u, 2*chunkSize)
	}
	// Streamed, the size is known only as it arrives.
	d, err := b.Begin(testID(3), meta)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 4 {
		if _, werr = d.Write(pattern(chunkSize)); werr != nil {
			break
		}
	}
	d.Abort()
	if !errors.Is(werr, ErrOverQuota) || !strings.Contains(werr.Error(), "this mail is at least") {
		t.Fatalf("a streamed mail refused part-way: %v, want ErrOverQuota saying \"at least\"", werr)
	}
	// A smaller refusal does not hide a larger one; time does not either.
	if _, err := b.Deliver(testID(4), meta, pattern(2*chunkSize+1)); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("Deliver one byte too large: %v", err)
	}
	c.Advance(72 * time.Hour)
	if u := b.Usage(); u.Short != 2*chunkSize {
		t.Fatalf("Usage() = %+v, want short %d: the largest lack since the last Delete", u, 2*chunkSize)
	}
	// Only the mails still waiting count, where the caller knows which:
	// once the largest has expired at its senders, the smaller one's lack
	// is what to make room for.
	onlyFour := func(id EnvelopeID) bool { return id == testID(4) }
	if u := b.UsageOf(onlyFour); u.Short != 1 || !u.Refusing() {
		t.Fatalf("UsageOf(only mail 4 waits) = %+v, want short 1", u)
	}
	if u := b.UsageOf(func(EnvelopeID) bool { return false }); u.Refusing() {
		t.Fatalf("UsageOf(nothing waits) = %+v, want not refusing", u)
	}
	// The lack is of the room there is now: mail stored since (the
	// owner's own, past the quota) adds to it.
	if _, err := b.DeliverExempt(testID(7), meta, pattern(chunkSize)); err != nil {
		t.Fatal(err)
	}
	if u := b.Usage(); u.Short != 3*chunkSize {
		t.Fatalf("Usage() = %+v after one more chunk stored, want short %d", u, 3*chunkSize)
	}
	if u := b.UsageOf(onlyFour); u.Short != chunkSize+1 {
		t.Fatalf("UsageOf(only mail 4 waits) = %+v after one more chunk stored, want short %d", u, chunkSize+1)
	}
	// Deleting makes room: nothing is known to wait until the next refusal.
	if err := b.Delete(testID(1).UID(), testID(7).UID()); err != nil {
		t.Fatal(err)
	}
	if u := b.Usage(); u.Refusing() || u.Mails != 0 || u.Bytes != 0 {
		t.Fatalf("Usage() = %+v after Delete, want empty and not refusing", u)
	}
	mustDeliver(t, b, testID(4), meta, pattern(2*chunkSize+1), true)
	// Past MaxMessageSize the refusal is ErrTooLarge (for good), not the quota.
	if _, err := b.Deliver(testID(6), meta, pattern(int(DefaultMaxMessageSize)+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Deliver past MaxMessageSize: %v, want ErrTooLarge", err)
	}
}

// TestUsageDoesNotWaitForWrites: Usage answers while a commit or Delete
// holds the write lock, so a status page never stalls behind one.
func TestUsageDoesNotWaitForWrites(t *testing.T) {
	b, err := Open(Options{InMemory: true, Quota: 1000, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	done := make(chan Usage, 1)
	go func() { done <- b.Usage() }()
	select {
	case u := <-done:
		if u.Quota != 1000 {
			t.Errorf("Usage() = %+v", u)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Usage waits for the write lock")
	}
}

// TestOpenSurvivesCorruptRecord: a message record that cannot be decoded
// does not keep the inbox (and so the node) from opening; it is left out
// of the totals, and List still reports it.
func TestOpenSurvivesCorruptRecord(t *testing.T) {
	c := newTestClock()
	dir := t.TempDir()
	b, err := Open(Options{Dir: dir, Now: c.Now, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, b, testID(1), testMeta(c, time.Hour), pattern(10), true)
	if err := b.db.Update(func(txn *badger.Txn) error {
		return txn.Set(messageKey(99), []byte{0xff, 1, 2})
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Open(Options{Dir: dir, Now: c.Now, tune: small})
	if err != nil {
		t.Fatalf("Open with one corrupt message record: %v", err)
	}
	defer b.Close()
	if u := b.Usage(); u.Mails != 1 || u.Bytes != 10 {
		t.Errorf("Usage() = %+v, want the one good mail", u)
	}
	if _, err := b.List(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("List() = %v, want ErrCorrupt", err)
	}
	mustDeliver(t, b, testID(2), testMeta(c, time.Hour), pattern(10), true)
}

// TestOnDelete: Options.OnDelete hears of each Delete that removed mail,
// after the inbox's locks are released, and of nothing else.
func TestOnDelete(t *testing.T) {
	c := newTestClock()
	var b *Inbox
	calls := 0
	b, err := Open(Options{InMemory: true, Now: c.Now, tune: small, OnDelete: func() {
		calls++
		b.Usage() // takes usageMu: would deadlock if called under it
		if !b.writeMu.TryLock() {
			t.Error("OnDelete runs under the write lock")
			return
		}
		b.writeMu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	meta := testMeta(c, time.Hour)
	mustDeliver(t, b, testID(1), meta, pattern(10), true)
	mustDeliver(t, b, testID(2), meta, pattern(10), true)
	if err := b.Delete(); err != nil || calls != 0 {
		t.Fatalf("Delete() = %v; OnDelete called %d times, want 0", err, calls)
	}
	if err := b.Delete(testID(1).UID(), testID(9).UID()); !errors.Is(err, ErrNotFound) || calls != 0 {
		t.Fatalf("Delete of an unknown UID = %v; OnDelete called %d times, want 0", err, calls)
	}
	if err := b.Delete(testID(1).UID(), testID(2).UID()); err != nil || calls != 1 {
		t.Fatalf("Delete = %v; OnDelete called %d times, want 1", err, calls)
	}
}

// Past maxRefused refusals the smallest is forgotten, so Short still
// knows the largest mail waiting.
func TestQuotaRefusedBounded(t *testing.T) {
	c := newTestClock()
	b, err := Open(Options{InMemory: true, Now: c.Now, Quota: 1000, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	meta := testMeta(c, time.Hour)
	refuse := func(id EnvelopeID, size int) {
		t.Helper()
		if _, err := b.Deliver(id, meta, pattern(size)); !errors.Is(err, ErrOverQuota) {
			t.Fatalf("Deliver of %d bytes: %v, want ErrOverQuota", size, err)
		}
	}
	many := func(i int) EnvelopeID {
		var id EnvelopeID
		binary.BigEndian.PutUint32(id[:], uint32(1000+i))
		return id
	}
	for i := range maxRefused {
		refuse(many(i), 2000+i)
	}
	refuse(testID(1), 1500) // smaller than all: not kept
	refuse(testID(2), 5000) // takes the smallest's place
	if n := len(b.refused); n != maxRefused {
		t.Fatalf("%d refusals kept, want %d", n, maxRefused)
	}
	if _, ok := b.refused[many(0)]; ok {
		t.Error("the smallest refusal was kept past the bound")
	}
	if u := b.UsageOf(func(id EnvelopeID) bool { return id != testID(2) }); u.Short != 2000+maxRefused-1-1000 {
		t.Errorf("UsageOf(all but the largest) = %+v, want short %d", u, 2000+maxRefused-1-1000)
	}
	if u := b.Usage(); u.Short != 4000 {
		t.Errorf("Usage() = %+v, want short 4000", u)
	}
}
