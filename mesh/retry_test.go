package mesh

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// TestMailboxRetryBacksOff: a mail kept whole while the mailbox refuses
// for now (a full inbox) is tried again at growing intervals, capped at an
// hour, not every DeliverRetry for as long as it stays full; only the
// first refusal is a warning. RetryDeliveries, called once the mailbox has
// room, brings the mail in at once.
func TestMailboxRetryBacksOff(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	b := tn.add("B", testConfig(), nil)
	var logs testLog
	b.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tn.restart("B", b.store)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	b.box.setFail(tempErr{})
	id := tn.send("A", "B", "waits for room")

	// Six hours at a fixed 30 s would be 720 tries; backing off from 30 s
	// to an hour it is 1 + 7 (30 s … 32 min) + 4 hourly ones or so.
	tn.run(6 * time.Hour)
	tries := b.box.setFail(tempErr{})
	if tries < 8 || tries > 16 {
		t.Errorf("the mailbox was tried %d times in 6 hours, want 8..16 (a backoff to an hour)", tries)
	}
	if n := strings.Count(logs.String(), "mailbox refused delivery for now"); n != 1 {
		t.Errorf("the refusal was logged %d times at warning level, want once:\n%s", n, logs.String())
	}
	b.node.mu.Lock()
	r := b.node.retry[id]
	b.node.mu.Unlock()
	if r == nil || r.env == nil || r.wait != retryAskMax {
		t.Fatalf("retry entry %+v, want the mail kept whole, waiting %v", r, retryAskMax)
	}

	// Room again: the mail arrives within a second, not at the next
	// hourly try.
	b.box.setFail(nil)
	b.node.RetryDeliveries(-1)
	tn.run(time.Second)
	tn.wantDelivered("B", "A", "waits for room", id)
	b.node.mu.Lock()
	left := len(b.node.retry)
	b.node.mu.Unlock()
	if left != 0 {
		t.Errorf("%d deliveries still wait after the mail arrived", left)
	}
}

// TestMailboxRetryPermanentAfterTemporary: a mail refused for now and then
// for good leaves the retry list instead of being tried at every wake-up.
func TestMailboxRetryPermanentAfterTemporary(t *testing.T) {
	tn, b := refusingPair(t)
	tn.send("A", "B", "refused for good later")
	tn.run(10 * time.Second)
	before := b.box.setFail(errPermanentTest)
	// A mail left on the list with its time passed would be retried at
	// the same virtual instant forever: bound the run in wall time.
	done := make(chan struct{})
	go func() {
		defer close(done)
		tn.run(time.Hour)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("an hour of virtual time did not pass in a minute: retrying without end (%d tries)", b.box.setFail(errPermanentTest)-before)
	}
	tries := b.box.setFail(nil) - before
	b.node.mu.Lock()
	left := len(b.node.retry)
	b.node.mu.Unlock()
	if tries != 1 || left != 0 {
		t.Errorf("after a permanent refusal: %d more tries, %d still waiting; want 1 and 0", tries, left)
	}
}

type permanentErr struct{}

func (permanentErr) Error() string { return "mailbox refuses this mail" }

var errPermanentTest error = permanentErr{}

// TestRetryDeliveriesOnlyWhatFits: RetryDeliveries(room) brings forward
// only the waiting mails that fit in room: a Delete that freed too little
// fetches nothing again (review: every Delete fetched every mail kept by
// ID again). Those kept whole start their backoff afresh.
func TestRetryDeliveriesOnlyWhatFits(t *testing.T) {
	tn, b, cfg := backedOff(t)
	waits := func() (byID, whole int, min time.Duration) {
		b.node.mu.Lock()
		defer b.node.mu.Unlock()
		min = time.Duration(1 << 62)
		for _, r := range b.node.retry {
			if r.env == nil {
				byID++
			} else {
				whole++
			}
			min = time.Duration(math.Min(float64(min), float64(r.wait)))
		}
		return byID, whole, min
	}
	byID, whole, _ := waits()
	if byID == 0 || whole == 0 || byID+whole != backedOffMails {
		t.Fatalf("%d mails kept by ID and %d whole, want some of each, %d in all", byID, whole, backedOffMails)
	}
	tries := b.box.setFail(tempErr{})
	bodies := tn.bodyCount("A", "B")
	reqs := b.node.Stats().RequestsOut
	for range 10 { // Deletes that freed 10 KiB: no mail of 40 KiB fits
		b.node.RetryDeliveries(10 << 10)
		tn.run(2 * time.Minute)
	}
	// In 20 minutes each mail is due at most once on its hourly backoff.
	if n := tn.bodyCount("A", "B") - bodies; n > byID {
		t.Errorf("%d envelope bodies fetched again for %d mails kept by ID, though none could fit", n, byID)
	}
	if n := b.node.Stats().RequestsOut - reqs; n > uint64(byID) {
		t.Errorf("%d requests in 20 minutes for %d mails kept by ID, though none could fit", n, byID)
	}
	if n := b.box.setFail(tempErr{}) - tries; n > backedOffMails {
		t.Errorf("%d tries of %d mails in 20 minutes, though none could fit", n, backedOffMails)
	}

	// Room for them: every mail kept whole is tried at once, its backoff
	// afresh.
	tries = b.box.setFail(tempErr{})
	b.node.RetryDeliveries(1 << 20)
	tn.run(5 * time.Second)
	if n := b.box.setFail(tempErr{}) - tries; n < whole {
		t.Errorf("%d tries within 5 s of RetryDeliveries with room for all, want at least the %d kept whole", n, whole)
	}
	if _, _, min := waits(); min > 2*cfg.DeliverRetry {
		t.Errorf("a mail kept whole and refused again after RetryDeliveries waits at least %v, want its backoff afresh (%v)", min, 2*cfg.DeliverRetry)
	}
	// The mails kept whole arrive at once; those kept by ID were just
	// fetched and refused, and their friend serves a body again only after
	// a while, so they come on their backoff.
	b.box.setFail(nil)
	b.node.RetryDeliveries(-1)
	tn.run(time.Second)
	if n := len(b.box.deliveries()); n < whole {
		t.Errorf("%d mails delivered within a second of RetryDeliveries(-1), want at least the %d kept whole", n, whole)
	}
	tn.run(2 * time.Hour)
	if n := len(b.box.deliveries()); n != backedOffMails {
		t.Errorf("%d of %d mails delivered", n, backedOffMails)
	}
	if st := b.node.Stats(); st.DeliveriesWaiting != 0 {
		t.Errorf("Stats().DeliveriesWaiting = %d after every mail arrived", st.DeliveriesWaiting)
	}
}

// TestRetryDeliveriesRefetchBounded: with no room figure (no quota: the
// disk was short), RetryDeliveries(-1) called every two minutes fetches a
// mail kept by ID again at most every 10 minutes, not at every call.
func TestRetryDeliveriesRefetchBounded(t *testing.T) {
	tn, b, _ := backedOff(t)
	b.node.mu.Lock()
	byID := 0
	for _, r := range b.node.retry {
		if r.env == nil {
			byID++
		}
	}
	b.node.mu.Unlock()
	bodies := tn.bodyCount("A", "B")
	for range 10 {
		b.node.RetryDeliveries(-1)
		tn.run(2 * time.Minute)
	}
	// 20 minutes: at most one fetch per 10 minutes from RetryDeliveries,
	// and one on the hourly backoff.
	if n := tn.bodyCount("A", "B") - bodies; byID == 0 || n > 3*byID {
		t.Errorf("%d envelope bodies fetched in 20 minutes for %d mails kept by ID, want at most %d", n, byID, 3*byID)
	}
}

// TestRetryDeliveriesRestartsBackoff: disk-full recovery with no quota.
// The owner deletes mail (RetryDeliveries(-1)) while the disk is still
// short (badger frees space only later); the mail kept whole starts its
// backoff afresh, so it arrives within minutes of the disk having room,
// not at the next hourly try (review).
func TestRetryDeliveriesRestartsBackoff(t *testing.T) {
	tn, b := refusingPair(t)
	id := tn.send("A", "B", "waits for room")
	tn.run(6 * time.Hour) // backed off to hourly

	b.node.RetryDeliveries(-1) // the owner deleted mail; the disk is still short
	tn.run(2 * time.Minute)
	b.box.setFail(nil) // GC ran / the owner freed space: room now
	tn.run(10 * time.Minute)
	if b.box.times(id) == 0 {
		t.Errorf("mail not delivered 10 minutes after the disk had room (the Delete left it on its hourly backoff)")
	}
}

// TestDeliveriesWaitingLeavesExpired: Stats.DeliveriesWaiting and
// DeliveryWaiting do not count a waiting mail that has expired, though it leaves the retry list
// only at its next try: the dashboard says mail waits for room only while
// some does (review).
func TestDeliveriesWaitingLeavesExpired(t *testing.T) {
	tn, b := refusingPair(t)
	id := tn.send("A", "B", "waits for room", withLifetime(90*time.Minute))
	tn.run(80 * time.Minute)
	if n := b.node.Stats().DeliveriesWaiting; n != 1 || !b.node.DeliveryWaiting(id) {
		t.Fatalf("DeliveriesWaiting = %d, DeliveryWaiting = %v while the refused mail waits; want 1, true", n, b.node.DeliveryWaiting(id))
	}
	if b.node.DeliveryWaiting(envelope.ID{1}) {
		t.Error("DeliveryWaiting of a mail never seen")
	}
	tn.run(20 * time.Minute) // expired 10 minutes ago
	if n := b.node.Stats().DeliveriesWaiting; n != 0 || b.node.DeliveryWaiting(id) {
		t.Errorf("DeliveriesWaiting = %d, DeliveryWaiting = %v 10 minutes after the only waiting mail expired", n, b.node.DeliveryWaiting(id))
	}
}

// backedOffMails is how many mails backedOff leaves waiting.
const backedOffMails = 12

// backedOff makes A send B mails of 40 KiB that B's mailbox refuses for
// now, more than B keeps whole (envelopes of at most 64 KiB), and runs six
// hours, so that every retry has backed off to hourly.
func backedOff(t *testing.T) (*testNet, *testNode, Config) {
	t.Helper()
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	cfg := testConfig()
	cfg.MaxEnvelopeSize = 64 << 10
	tn.add("A", cfg, nil)
	b := tn.add("B", cfg, nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	b.box.setFail(tempErr{})
	for i := range backedOffMails {
		tn.send("A", "B", fmt.Sprintf("mail %d\r\n%s", i, strings.Repeat("x", 40<<10)))
	}
	tn.run(6 * time.Hour)
	return tn, b, cfg
}

// refusingPair is friends A and B, online, with B's mailbox refusing
// every delivery for now.
func refusingPair(t *testing.T) (*testNet, *testNode) {
	t.Helper()
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	b := tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	b.box.setFail(tempErr{})
	return tn, b
}
