package tox

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNetworkPair runs two real instances on loopback through a friend
// request, a friend connection and every kind of traffic. The subtests
// share the connected pair.
func TestNetworkPair(t *testing.T) {
	t.Parallel()
	recA, recB := newPairRecorder(), newPairRecorder()
	optsA, optsB := pairOptions(t), pairOptions(t)
	optsA.Callbacks, optsB.Callbacks = recA.Callbacks(), recB.Callbacks()
	a, b := pairNew(t, optsA), pairNew(t, optsB)
	start := time.Now()
	pairBootstrap(t, a, b)

	ab, err := a.AddFriend(b.Address(), "hi")
	if err != nil {
		t.Fatalf("AddFriend: %v", err)
	}
	if _, err := a.AddFriend(b.Address(), "hi again"); !errors.Is(err, ErrAlreadyFriend) {
		t.Fatalf("second AddFriend: got %v, want ErrAlreadyFriend", err)
	}
	waitFor(t, pairConnectTimeout, "B to receive A's friend request", func() bool {
		_, reqs, _, _, _ := recB.snapshot()
		return len(reqs) > 0
	})
	_, reqs, _, _, _ := recB.snapshot()
	if reqs[0].PK != a.PublicKey() || reqs[0].Message != "hi" {
		t.Fatalf("friend request: got %v %q, want %v %q", reqs[0].PK, reqs[0].Message, a.PublicKey(), "hi")
	}
	t.Logf("friend request arrived after %v", time.Since(start).Round(time.Millisecond))
	ba, err := b.AddFriendNoRequest(reqs[0].PK)
	if err != nil {
		t.Fatalf("AddFriendNoRequest: %v", err)
	}
	waitOnline(t, pairConnectTimeout, a, ab)
	waitOnline(t, pairConnectTimeout, b, ba)
	t.Logf("friends connected after %v", time.Since(start).Round(time.Millisecond))
	for _, r := range []struct {
		rec  *pairRecorder
		fn   uint32
		peer PublicKey
	}{{recA, ab, b.PublicKey()}, {recB, ba, a.PublicKey()}} {
		_, _, conns, _, _ := r.rec.snapshot()
		if len(conns) == 0 {
			t.Fatalf("no FriendConnection event for friend %d", r.fn)
		}
		if last := conns[len(conns)-1]; last.FN != r.fn || last.PK != r.peer || !last.Conn.Online() {
			t.Fatalf("last FriendConnection event: got %+v, want friend %d %v online", last, r.fn, r.peer)
		}
	}
	if pk, err := b.FriendPublicKey(ba); err != nil || pk != a.PublicKey() {
		t.Fatalf("FriendPublicKey: got %v, %v", pk, err)
	}
	if fn, err := a.FriendByPublicKey(b.PublicKey()); err != nil || fn != ab {
		t.Fatalf("FriendByPublicKey: got %d, %v; want %d", fn, err, ab)
	}
	savedA, err := a.Savedata()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("messages", func(t *testing.T) {
		long := strings.Repeat("x", MaxMessageLength)
		sends := []struct {
			from *Tox
			fn   uint32
			typ  MessageType
			text string
			rec  *pairRecorder
		}{
			{a, ab, MessageNormal, "hello B", recB},
			{b, ba, MessageAction, "waves at A", recA},
			{a, ab, MessageNormal, long, recB},
			{b, ba, MessageNormal, long, recA},
			{a, ab, MessageNormal, "Grüße, ☃", recB},
		}
		for _, s := range sends {
			if _, err := s.from.SendMessage(s.fn, s.typ, s.text); err != nil {
				t.Fatalf("SendMessage %q...: %v", s.text[:min(10, len(s.text))], err)
			}
		}
		if _, err := a.SendMessage(ab, MessageNormal, long+"x"); !errors.Is(err, ErrTooLong) {
			t.Fatalf("1373-byte message: got %v, want ErrTooLong", err)
		}
		if _, err := a.SendMessage(ab, MessageNormal, ""); !errors.Is(err, ErrNoMessage) {
			t.Fatalf("empty message: got %v, want ErrNoMessage", err)
		}
		if _, err := a.SendMessage(ab, MessageType(7), "x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad message type: got %v, want ErrInvalid", err)
		}
		if _, err := a.SendMessage(ab, MessageNormal, "\xff\xfe"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("invalid UTF-8: got %v, want ErrInvalid", err)
		}
		if _, err := a.SendMessage(ab+100, MessageNormal, "x"); !errors.Is(err, ErrFriendNotFound) {
			t.Fatalf("unknown friend: got %v, want ErrFriendNotFound", err)
		}
		waitFor(t, 10*time.Second, "the messages to arrive", func() bool {
			return recA.messageCount() >= 2 && recB.messageCount() >= 3
		})
		for _, side := range []struct {
			rec  *pairRecorder
			fn   uint32
			from PublicKey
			want []pairMessage
		}{
			{recB, ba, a.PublicKey(), []pairMessage{{ba, a.PublicKey(), MessageNormal, "hello B"},
				{ba, a.PublicKey(), MessageNormal, long}, {ba, a.PublicKey(), MessageNormal, "Grüße, ☃"}}},
			{recA, ab, b.PublicKey(), []pairMessage{{ab, b.PublicKey(), MessageAction, "waves at A"},
				{ab, b.PublicKey(), MessageNormal, long}}},
		} {
			_, _, _, got, _ := side.rec.snapshot()
			if len(got) != len(side.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(side.want))
			}
			for i := range got {
				if got[i] != side.want[i] {
					t.Errorf("message %d: got %v %q (%d bytes), want %v %q", i, got[i].Type,
						got[i].Text[:min(20, len(got[i].Text))], len(got[i].Text), side.want[i].Type,
						side.want[i].Text[:min(20, len(side.want[i].Text))])
				}
			}
		}
	})

	t.Run("names", func(t *testing.T) {
		if err := a.SetName("alice"); err != nil {
			t.Fatal(err)
		}
		if err := a.SetStatusMessage("sending mail"); err != nil {
			t.Fatal(err)
		}
		if err := a.SetName(strings.Repeat("n", MaxNameLength+1)); !errors.Is(err, ErrTooLong) {
			t.Fatalf("long name: got %v, want ErrTooLong", err)
		}
		waitFor(t, 10*time.Second, "B to learn A's name and status", func() bool {
			name, _ := b.FriendName(ba)
			status, _ := b.FriendStatusMessage(ba)
			return name == "alice" && status == "sending mail"
		})
		_, _, _, _, names := recB.snapshot()
		if len(names) == 0 || names[len(names)-1] != "alice" {
			t.Fatalf("FriendName events: got %q, want the last one %q", names, "alice")
		}
	})

	t.Run("lossless", func(t *testing.T) {
		for _, bad := range []struct {
			data []byte
			want error
		}{
			{nil, ErrNoMessage},
			{[]byte{159, 1}, ErrInvalid},
			{[]byte{192, 1}, ErrInvalid},
			{[]byte{69, 1}, ErrInvalid},
			{make([]byte, MaxCustomPacket+1), ErrTooLong},
		} {
			if len(bad.data) > 2 {
				bad.data[0] = LosslessFirstID
			}
			if err := a.SendLossless(ab, bad.data); !errors.Is(err, bad.want) {
				t.Errorf("SendLossless(% x...): got %v, want %v", bad.data[:min(2, len(bad.data))], err, bad.want)
			}
		}
		const n = 2000
		sendA, sendB := newPairSender(ab, n), newPairSender(ba, n)
		recvA, recvB := newPairReceiver(), newPairReceiver()
		recA.setLossless(recvA.receive)
		recB.setLossless(recvB.receive)
		defer recA.setLossless(nil)
		defer recB.setLossless(nil)
		begin := time.Now()
		a.SetIterateHook(sendA.pump)
		b.SetIterateHook(sendB.pump)
		defer a.SetIterateHook(nil)
		defer b.SetIterateHook(nil)
		a.Wake()
		b.Wake()
		waitFor(t, 60*time.Second, "2×2000 lossless packets", func() bool {
			na, errA := recvA.count()
			nb, errB := recvB.count()
			if err := errors.Join(errA, errB); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*pairSender{sendA, sendB} {
				if p := s.err.Load(); p != nil {
					t.Fatalf("send: %v", *p)
				}
			}
			return na == n && nb == n
		})
		d := time.Since(begin)
		t.Logf("2×%d packets of %d bytes in %v (%.2f MB/s each way); SENDQ hits: A %d, B %d",
			n, MaxCustomPacket, d.Round(time.Millisecond), float64(n*MaxCustomPacket)/d.Seconds()/1e6,
			sendA.sendq.Load(), sendB.sendq.Load())
	})

	t.Run("delete", func(t *testing.T) {
		if err := a.DeleteFriend(ab); err != nil {
			t.Fatalf("DeleteFriend: %v", err)
		}
		if err := a.DeleteFriend(ab); !errors.Is(err, ErrFriendNotFound) {
			t.Fatalf("second DeleteFriend: got %v, want ErrFriendNotFound", err)
		}
		if _, err := a.FriendConnection(ab); !errors.Is(err, ErrFriendNotFound) {
			t.Fatalf("FriendConnection after delete: got %v, want ErrFriendNotFound", err)
		}
		if err := a.SendLossless(ab, []byte{LosslessFirstID, 1}); !errors.Is(err, ErrFriendNotFound) {
			t.Fatalf("SendLossless after delete: got %v, want ErrFriendNotFound", err)
		}
		if fs, err := a.Friends(); err != nil || len(fs) != 0 {
			t.Fatalf("Friends after delete: got %v, %v", fs, err)
		}
		begin := time.Now()
		waitFor(t, 20*time.Second, "B to see A go offline", func() bool {
			c, err := b.FriendConnection(ba)
			return err == nil && c == ConnectionNone
		})
		t.Logf("B saw A offline %v after the delete", time.Since(begin).Round(time.Millisecond))
	})

	// Last: the copy of A is not bootstrapped, but its savedata lists B
	// as a friend and as a DHT node, so it must not overlap other subtests.
	t.Run("profile", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "a.tox")
		pass := []byte("correct horse battery staple")
		if err := SaveProfile(path, savedA, pass); err != nil {
			t.Fatal(err)
		}
		loaded, err := LoadProfile(path, pass)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(loaded, savedA) {
			t.Fatal("profile changed in the save/load round trip")
		}
		opts := pairOptions(t)
		opts.Savedata = loaded
		c := pairNew(t, opts)
		if c.Address() != a.Address() {
			t.Fatalf("restored address %v, want %v", c.Address(), a.Address())
		}
		skA, _ := a.SecretKey()
		skC, _ := c.SecretKey()
		if skA != skC || skC.IsZero() {
			t.Fatal("restored secret key differs")
		}
		fs, err := c.Friends()
		if err != nil || len(fs) != 1 {
			t.Fatalf("restored friends: got %v, %v; want one", fs, err)
		}
		if pk, err := c.FriendPublicKey(fs[0]); err != nil || pk != b.PublicKey() {
			t.Fatalf("restored friend: got %v, %v; want %v", pk, err, b.PublicKey())
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
