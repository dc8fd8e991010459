package tox

import (
	"testing"
	"time"
)

// TestRegressionAutoAcceptedNotTracked: a request accepted by the policy adds
// the friend in libtoxcore only; the transport does not know it until it
// connects, so DeleteFriend and SendText refuse it (ErrFriendNotFound).
func TestRegressionAutoAcceptedNotTracked(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	tr := NewTransport(TransportConfig{Policy: AcceptAll})
	t.Cleanup(func() { tr.Close() })
	if err := tr.Attach(x); err != nil {
		t.Fatal(err)
	}
	pk := randomKey(t)
	x.Do(func(*Core) error { tr.onFriendRequest(pk, "hi"); return nil }) // as the callback, on the Tox goroutine
	waitFor(t, 5*time.Second, "accepted", func() bool { return isFriend(x, pk) })
	errSend := tr.SendText(pk, "welcome")
	errDel := tr.DeleteFriend(pk)
	t.Logf("Peers %d; SendText: %v; DeleteFriend: %v; still a Tox friend: %v", len(tr.Peers()), errSend, errDel, isFriend(x, pk))
	if errDel != nil || errSend != nil {
		t.Error("an accepted friend is invisible to the transport until it connects")
	}
}
