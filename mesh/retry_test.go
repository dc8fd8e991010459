package mesh

import (
	"log/slog"
	"strings"
	"testing"
	"time"
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
	b.node.RetryDeliveries()
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
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	b := tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	b.box.setFail(tempErr{})
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
