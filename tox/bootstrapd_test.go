package tox

import (
	"testing"
	"time"
)

// TestBootstrapd connects two instances that know only a local
// tox-bootstrapd, not each other.
func TestBootstrapd(t *testing.T) {
	t.Parallel()
	port, key := pairBootstrapd(t)
	a, b := pairNew(t, pairOptions(t)), pairNew(t, pairOptions(t))
	// Friends first, so the friend search overlaps the DHT join.
	ab, err := a.AddFriendNoRequest(b.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ba, err := b.AddFriendNoRequest(a.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pairJoin(t, a, port, key)
	pairJoin(t, b, port, key)
	waitFor(t, pairConnectTimeout, "both instances to join the DHT of tox-bootstrapd", func() bool {
		ca, _ := a.SelfConnection()
		cb, _ := b.SelfConnection()
		return ca.Online() && cb.Online()
	})
	t.Logf("joined the DHT after %v", time.Since(start).Round(time.Millisecond))
	waitOnline(t, pairConnectTimeout, a, ab)
	waitOnline(t, pairConnectTimeout, b, ba)
	t.Logf("friends connected after %v", time.Since(start).Round(time.Millisecond))
	if _, err := a.SendMessage(ab, MessageNormal, "via the DHT of a local bootstrap node"); err != nil {
		t.Fatal(err)
	}
}
