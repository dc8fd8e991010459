package mesh

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A node offered envelopes larger than it takes cannot tell whose they
// are, so it says so in its log, once a while, instead of refusing mail
// for itself in silence.
func TestTooLargeOffersLogged(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("alice", testConfig(), nil)
	small := testConfig()
	small.MaxEnvelopeSize = 64 << 10
	bob := tn.add("bob", small, nil)
	var logs testLog
	bob.log = slog.New(slog.NewTextHandler(&logs, nil))
	tn.restart("bob", bob.store)
	tn.friends("alice", "bob")
	tn.online("alice", "bob")
	tn.run(time.Minute)

	id := tn.send("alice", "bob", strings.Repeat("x", 200<<10))
	tn.send("alice", "bob", strings.Repeat("y", 300<<10))
	tn.run(10 * time.Minute)
	if st := tn.status("alice", id); st == StatusDelivered {
		t.Fatal("an envelope larger than bob takes was delivered")
	}
	out := logs.String()
	if n := strings.Count(out, "friends offer envelopes larger than this node takes"); n != 1 {
		t.Fatalf("the refusal was logged %d times, want once (at most every %v):\n%s", n, tooLargeEvery, out)
	}
	if !strings.Contains(out, "max_envelope_size=65536") {
		t.Errorf("the log does not name the limit:\n%s", out)
	}
	// An envelope within the limit is not reported.
	tn.send("alice", "bob", "small")
	tn.run(20 * time.Minute)
	if n := strings.Count(logs.String(), "larger than this node takes"); n != 1 {
		t.Errorf("a small envelope was reported as too large (%d lines)", n)
	}
}
