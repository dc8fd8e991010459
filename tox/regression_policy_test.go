package tox

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestRegressionKnownRunsOnToxGoroutine: TransportConfig.Known is called on the
// Tox owner goroutine (inside tox_iterate), which its doc does not say. A
// Known that asks the Tox instance anything (here: "is it already a
// friend?") deadlocks the instance at the first friend request.
func TestRegressionKnownRunsOnToxGoroutine(t *testing.T) {
	t.Parallel()
	a, b := pairNew(t, pairOptions(t)), pairNew(t, pairOptions(t))
	var called atomic.Bool
	tr := NewTransport(TransportConfig{
		Policy: AcceptKnown,
		Known: func(pk PublicKey) bool {
			called.Store(true)
			_, err := a.FriendByPublicKey(pk) // any *Tox method
			return err == nil
		},
	})
	t.Cleanup(func() { tr.Close() })
	if err := tr.Attach(a); err != nil {
		t.Fatal(err)
	}
	pairBootstrap(t, a, b)
	if _, err := b.AddFriend(a.Address(), "hi"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, dhtConnectTimeout, "friend request reaches A", called.Load)
	done := make(chan error, 1)
	go func() { _, err := a.SelfConnection(); done <- err }()
	select {
	case err := <-done:
		t.Logf("A still answers: %v", err)
	case <-time.After(5 * time.Second):
		t.Errorf("A's Tox goroutine is deadlocked in Known (Do from the owner goroutine)")
		go a.Close() // unblocks the Do inside Known (closing), so cleanup ends
	}
}
