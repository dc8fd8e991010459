package mesh

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Mail with ttl 1 goes only to the recipient itself, as a friend: a node
// that has never seen that key online as a friend says so when the mail is
// submitted, instead of leaving the user to wait for the lifetime. Mail
// to a friend, or with a larger ttl, is not reported.
func TestTTL1ToStrangerLogged(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	alice := tn.add("alice", testConfig(), nil)
	var logs testLog
	alice.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tn.restart("alice", alice.store)
	tn.add("bob", testConfig(), nil)
	tn.add("carol", testConfig(), nil)
	tn.friends("alice", "bob")
	tn.friends("bob", "carol")
	tn.online("alice", "bob", "carol")
	tn.run(time.Minute)

	const warning = "mail with ttl 1 to a key that has not been online as a friend"
	tn.send("alice", "bob", "to a friend", withTTL(1))
	tn.send("alice", "carol", "via bob", withTTL(2))
	if strings.Contains(logs.String(), warning) {
		t.Fatalf("mail to a friend, or with ttl 2, was reported:\n%s", logs.String())
	}
	tn.send("alice", "carol", "ttl 1 to a stranger", withTTL(1))
	if n := strings.Count(logs.String(), warning); n != 1 {
		t.Fatalf("ttl 1 mail to a stranger: %d warnings, want 1:\n%s", n, logs.String())
	}
}
