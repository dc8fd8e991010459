package inbox

import (
	"errors"
	"strings"
	"testing"
	"time"
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
	for _, want := range []string{"mailbox full", "1000 B stored of 1000 B", "this mail is 1 B", "delete mail"} {
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

	// Mail the node makes for its owner may go past the quota, and counts.
	if added, err := b.DeliverExempt(testID(4), meta, pattern(50)); !added || err != nil {
		t.Fatalf("DeliverExempt = %v, %v; want true, nil", added, err)
	}
	if got, want := b.Usage(), (Usage{Mails: 3, Bytes: 1050, Quota: 1000}); got != want || !got.Full() {
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
