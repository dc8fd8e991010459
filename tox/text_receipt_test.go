package tox

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeSend stands in for Core.SendMessage: it records what it took and
// numbers it, until room texts are taken; then it reports a full send
// queue (a temporary error).
type fakeSend struct {
	next  uint32
	room  int
	taken []string
}

func (s *fakeSend) send(_ uint32, _ MessageType, text string) (uint32, error) {
	if s.room == 0 {
		return 0, ErrSendQ
	}
	s.room--
	s.next++
	s.taken = append(s.taken, text)
	return s.next, nil
}

// friendTexts returns what the transport keeps for pk: waiting, and sent
// but not confirmed, and their bytes.
func friendTexts(tr *Transport, pk PublicKey) (waiting, unread []string, bytes int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	f := tr.byKey[pk]
	for _, u := range f.unread {
		unread = append(unread, u.text)
	}
	return slices.Clone(f.texts), unread, f.textBytes
}

// TestTextsKeptUntilReceipt: a text libtoxcore took is kept until its
// read receipt; when the connection dies first, the unconfirmed texts go
// back in front of those still waiting, in their order, and are sent
// again on the next connection. A receipt for a text no longer held (sent
// again since) changes nothing.
func TestTextsKeptUntilReceipt(t *testing.T) {
	tr := NewTransport(TransportConfig{})
	defer tr.Close()
	pk := mustKeyPair(t).Public
	tr.onFriendConnection(0, pk, ConnectionUDP)
	for _, s := range []string{"one", "two", "three", "four"} {
		if err := tr.SendText(pk, s); err != nil {
			t.Fatal(err)
		}
	}
	fake := &fakeSend{room: 3}
	tr.mu.Lock()
	tr.sendTextsLocked(tr.byKey[pk], fake.send) // takes one (1), two (2), three (3)
	tr.mu.Unlock()
	tr.onFriendReadReceipt(0, pk, 2) // "two" arrived
	waiting, unread, n := friendTexts(tr, pk)
	if !slices.Equal(waiting, []string{"four"}) || !slices.Equal(unread, []string{"one", "three"}) || n != len("onethreefour") {
		t.Fatalf("after one receipt: waiting %q, unread %q, %d bytes", waiting, unread, n)
	}

	tr.onFriendConnection(0, pk, ConnectionNone) // "one" and "three" lost with the link
	tr.onFriendReadReceipt(0, pk, 1)             // a stale receipt: ignored
	waiting, unread, n = friendTexts(tr, pk)
	if !slices.Equal(waiting, []string{"one", "three", "four"}) || len(unread) != 0 || n != len("onethreefour") {
		t.Fatalf("after the drop: waiting %q, unread %q, %d bytes", waiting, unread, n)
	}

	// Back online, the link drops again after "one" went: it goes back in
	// front again, and only texts really sent again count as resent.
	tr.onFriendConnection(0, pk, ConnectionTCP)
	fake.room = 1
	send := func() {
		tr.mu.Lock()
		tr.sendTextsLocked(tr.byKey[pk], fake.send)
		tr.mu.Unlock()
	}
	send() // one (4)
	tr.onFriendConnection(0, pk, ConnectionNone)
	tr.onFriendConnection(0, pk, ConnectionNone) // no news: nothing more requeued
	tr.onFriendConnection(0, pk, ConnectionUDP)
	fake.room = 10
	send() // one (5), three (6), four (7)
	if want := []string{"one", "two", "three", "one", "one", "three", "four"}; !slices.Equal(fake.taken, want) {
		t.Fatalf("libtoxcore took %q, want %q", fake.taken, want)
	}
	for id := uint32(5); id <= 7; id++ {
		tr.onFriendReadReceipt(0, pk, id)
	}
	waiting, unread, n = friendTexts(tr, pk)
	if len(waiting) != 0 || len(unread) != 0 || n != 0 {
		t.Fatalf("after every receipt: waiting %q, unread %q, %d bytes", waiting, unread, n)
	}
	st := tr.Stats()
	if st.TextsOut != 7 || st.TextsConfirmed != 4 || st.TextsResent != 3 {
		t.Errorf("stats: out %d, confirmed %d, resent %d; want 7, 4, 3", st.TextsOut, st.TextsConfirmed, st.TextsResent)
	}
}

// TestTextQueueCountsUnconfirmed: texts sent but not confirmed count
// against the friend's text limit, so a friend that never confirms cannot
// make the node keep more than maxTextQueue for it.
func TestTextQueueCountsUnconfirmed(t *testing.T) {
	tr := NewTransport(TransportConfig{})
	defer tr.Close()
	pk := mustKeyPair(t).Public
	tr.onFriendConnection(0, pk, ConnectionUDP)
	half := string(make([]byte, maxTextQueue/2))
	if err := tr.SendText(pk, half); err != nil {
		t.Fatal(err)
	}
	fake := &fakeSend{room: 1 << 20}
	tr.mu.Lock()
	tr.sendTextsLocked(tr.byKey[pk], fake.send)
	tr.mu.Unlock()
	if err := tr.SendText(pk, half); err != nil {
		t.Fatalf("second half: %v", err)
	}
	if err := tr.SendText(pk, "x"); err != ErrTextQueueFull {
		t.Fatalf("past the limit with the first half unconfirmed: %v, want ErrTextQueueFull", err)
	}
}

// plainPair connects a pair over loopback whose A has a Transport and
// whose B is a plain Tox client that records what it receives. It takes
// about 10 s.
func plainPair(t *testing.T) (*pair, *pairRecorder, *Transport) {
	t.Helper()
	rec := newPairRecorder()
	ob := pairOptions(t)
	ob.Callbacks = rec.Callbacks()
	p := pairConnect(t, pairOptions(t), ob)
	tr := NewTransport(TransportConfig{})
	t.Cleanup(func() { tr.Close() })
	if err := tr.Attach(p.A); err != nil {
		t.Fatal(err)
	}
	return p, rec, tr
}

// TestTransportTextReadReceipt: over real libtoxcore on loopback, the
// read receipt of a text comes back and the transport forgets the text.
func TestTransportTextReadReceipt(t *testing.T) {
	t.Parallel()
	p, rec, tr := plainPair(t)
	text := "Subject: hello\n\n" + "a text in three messages: " + string(slices.Repeat([]byte("x"), 2*MaxMessageLength))
	if err := tr.SendText(p.B.PublicKey(), text); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "three read receipts", func() bool { return tr.Stats().TextsConfirmed == 3 })
	if got := rec.messageCount(); got != 3 {
		t.Errorf("B received %d messages, want 3", got)
	}
	waiting, unread, n := friendTexts(tr, p.B.PublicKey())
	if len(waiting) != 0 || len(unread) != 0 || n != 0 {
		t.Errorf("after the receipts A keeps %d waiting, %d unread, %d bytes", len(waiting), len(unread), n)
	}
}

// TestCloseReportsLostTexts: texts still waiting or unconfirmed when the
// transport closes are lost (unless an unconfirmed one arrived), and the
// log says how many, per friend.
func TestCloseReportsLostTexts(t *testing.T) {
	var logs strings.Builder
	tr := NewTransport(TransportConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	pk := mustKeyPair(t).Public
	tr.onFriendConnection(0, pk, ConnectionUDP)
	for _, s := range []string{"sent", "waiting"} {
		if err := tr.SendText(pk, s); err != nil {
			t.Fatal(err)
		}
	}
	tr.mu.Lock()
	tr.sendTextsLocked(tr.byKey[pk], (&fakeSend{room: 1}).send)
	tr.mu.Unlock()
	tr.Close()
	tr.Close()
	if got := strings.Count(logs.String(), "text messages to a plain Tox friend lost"); got != 1 {
		t.Fatalf("%d warnings of lost texts, want 1; log:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "unsent=1 unconfirmed=1 bytes=11") {
		t.Errorf("the warning does not count 1 text unsent and 1 unconfirmed, of 11 bytes:\n%s", logs.String())
	}
}
