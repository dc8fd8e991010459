package tox

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

func randomKey(t *testing.T) PublicKey {
	t.Helper()
	kp, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp.Public
}

func isFriend(x *Tox, pk PublicKey) bool {
	_, err := x.FriendByPublicKey(pk)
	return err == nil
}

func TestRequestPolicy(t *testing.T) {
	for _, policy := range []RequestPolicy{AcceptKnown, AcceptAll, Manual} {
		t.Run(policy.String(), func(t *testing.T) {
			known, stranger := randomKey(t), randomKey(t)
			var mu sync.Mutex
			var told []Request
			x := pairNew(t, pairOptions(t))
			tr := NewTransport(TransportConfig{
				Policy: policy,
				Known:  func(pk PublicKey) bool { return pk == known },
				OnRequest: func(r Request) {
					mu.Lock()
					told = append(told, r)
					mu.Unlock()
				},
			})
			t.Cleanup(func() { tr.Close() })
			if err := tr.Attach(x); err != nil {
				t.Fatal(err)
			}
			// What the friend-request callback does on the Tox goroutine.
			tr.onFriendRequest(known, "it's me")
			tr.onFriendRequest(stranger, "who am I")
			x.Wake()

			wantFriend := map[PublicKey]bool{known: policy != Manual, stranger: policy == AcceptAll}
			waitFor(t, 5*time.Second, "the policy's friends", func() bool {
				return isFriend(x, known) == wantFriend[known] && isFriend(x, stranger) == wantFriend[stranger]
			})
			time.Sleep(50 * time.Millisecond) // a wrongly accepted request would show by now
			for pk, want := range wantFriend {
				if got := isFriend(x, pk); got != want {
					t.Fatalf("friend %v: got %v, want %v", pk.Short(), got, want)
				}
			}
			var pending []PublicKey
			for _, r := range tr.Pending() {
				pending = append(pending, r.Key)
				if r.Key == stranger && r.Message != "who am I" {
					t.Errorf("pending message %q", r.Message)
				}
			}
			wantPending := 0
			for _, f := range wantFriend {
				if !f {
					wantPending++
				}
			}
			if len(pending) != wantPending {
				t.Fatalf("pending %d requests, want %d", len(pending), wantPending)
			}
			waitFor(t, 5*time.Second, "OnRequest calls", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(told) == wantPending
			})
			for _, pk := range pending {
				if pk == known {
					if err := tr.Deny(pk); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := tr.Approve(pk); err != nil {
					t.Fatal(err)
				}
				if !isFriend(x, pk) {
					t.Fatal("approved, yet not a friend")
				}
				if err := tr.Approve(pk); !errors.Is(err, ErrNoRequest) {
					t.Fatalf("approving twice: got %v, want ErrNoRequest", err)
				}
			}
			if len(tr.Pending()) != 0 {
				t.Fatal("requests still pending after approve/deny")
			}
		})
	}
	if _, err := ParseRequestPolicy("sometimes"); err == nil {
		t.Error("a bad policy name was accepted")
	}
}

// TestDeleteFriendDropsQueue: deleting a friend drops what was queued for
// it and tells the mesh it is gone.
func TestDeleteFriendDropsQueue(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	tr := NewTransport(TransportConfig{})
	t.Cleanup(func() { tr.Close() })
	if err := tr.Attach(x); err != nil {
		t.Fatal(err)
	}
	rec := &frameRec{}
	tr.SetHandler(rec)
	pk := randomKey(t)
	if err := tr.AddFriendNoRequest(pk); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(pk, []byte("x")); err == nil {
		t.Fatal("Send to an offline friend succeeded")
	}
	num, err := x.FriendByPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	tr.onFriendConnection(num, pk, ConnectionUDP) // as if it had connected
	if err := tr.Send(pk, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteFriend(pk); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.FramesLost != 1 {
		t.Errorf("FramesLost %d, want 1 (the queued frame)", st.FramesLost)
	}
	waitFor(t, 5*time.Second, "the mesh told online then offline", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.online) == 2 && rec.online[0] && !rec.online[1]
	})
	if isFriend(x, pk) || len(tr.Peers()) != 0 {
		t.Fatal("friend not deleted")
	}
	if err := tr.DeleteFriend(pk); !errors.Is(err, ErrFriendNotFound) {
		t.Fatalf("deleting twice: got %v", err)
	}
}

// Sending a friend request to someone whose own request waits for
// approval makes the friendship: the request is no longer pending.
func TestAddFriendClearsPendingRequest(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	tr := NewTransport(TransportConfig{Policy: Manual})
	t.Cleanup(func() { tr.Close() })
	if err := tr.Attach(x); err != nil {
		t.Fatal(err)
	}
	y := pairNew(t, pairOptions(t)) // only its address is used
	tr.onFriendRequest(y.PublicKey(), "hi")
	x.Wake()
	waitFor(t, 5*time.Second, "the request pending", func() bool { return len(tr.Pending()) == 1 })
	if err := tr.AddFriend(y.Address(), "hello back"); err != nil {
		t.Fatal(err)
	}
	if p := tr.Pending(); len(p) != 0 {
		t.Errorf("still pending after befriending: %+v", p)
	}

	// A request still queued for the dispatch goroutine when AddFriend
	// runs is not filed as pending afterwards either.
	gate, done := make(chan struct{}), make(chan struct{})
	texts := 0
	tr2 := NewTransport(TransportConfig{Policy: Manual, OnText: func(PublicKey, string, string) {
		if texts++; texts == 1 {
			<-gate // dispatch is busy
		} else {
			close(done)
		}
	}})
	t.Cleanup(func() { tr2.Close() })
	x2 := pairNew(t, pairOptions(t))
	if err := tr2.Attach(x2); err != nil {
		t.Fatal(err)
	}
	z := pairNew(t, pairOptions(t))
	var other PublicKey
	other[0] = 1
	tr2.onFriendMessage(0, other, MessageNormal, "first")
	tr2.onFriendRequest(z.PublicKey(), "hi")
	tr2.onFriendMessage(0, other, MessageNormal, "after the request")
	if err := tr2.AddFriend(z.Address(), "hello back"); err != nil {
		t.Fatal(err)
	}
	close(gate)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("dispatch did not get past the request")
	}
	if p := tr2.Pending(); len(p) != 0 {
		t.Errorf("a request queued before AddFriend is pending after it: %+v", p)
	}
}

// Past maxPending waiting requests the oldest is dropped, and a key that
// asks again keeps its place. Before, a repeat made a request the newest:
// a flood sent before a genuine request, then sent again, left the
// genuine one the oldest, and the next new key pushed it out.
// (decideRequest is what the dispatch goroutine runs for each request.)
func TestPendingBoundedResendKeepsPlace(t *testing.T) {
	tr := NewTransport(TransportConfig{Policy: Manual})
	t.Cleanup(func() { tr.Close() })
	var flood []PublicKey
	for range maxPending - 1 {
		k := randomKey(t)
		flood = append(flood, k)
		tr.decideRequest(k, "flood")
	}
	time.Sleep(time.Millisecond) // a later Received for the genuine one
	genuine := randomKey(t)
	tr.decideRequest(genuine, "genuine")
	time.Sleep(time.Millisecond)
	for _, k := range flood {
		tr.decideRequest(k, "again")
	}
	tr.decideRequest(randomKey(t), "one more")
	p := tr.Pending()
	if len(p) != maxPending {
		t.Fatalf("%d pending, want %d", len(p), maxPending)
	}
	for _, r := range p {
		if r.Key == genuine {
			return
		}
	}
	t.Fatal("the genuine request was pushed out by a flood sent again")
}
