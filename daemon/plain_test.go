package daemon

import (
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/tox"
)

// A text message from a plain Tox client is stored as a mail addressed to
// the node's own address, named after its user: what the mail client has
// as its address, not a made-up me@domain.
func TestTextMessageAddressedToUser(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.start(t)
	from := randomID(t)
	a.d.onText(tox.PublicKey(from.PublicKey()), "qtox user", "hello alice\nfrom qTox")
	msgs, err := a.d.Inbox().List()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("inbox: %d messages, %v", len(msgs), err)
	}
	_, raw, err := a.d.Inbox().Get(msgs[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil {
		t.Fatalf("To %q: %v", m.Header.Get("To"), err)
	}
	if to.Name != "alice" || to.Address != a.id.Address() {
		t.Errorf("To: %q <%s>, want \"alice\" <%s>", to.Name, to.Address, a.id.Address())
	}
}

// A text message cannot wait in the mesh, so one that a full inbox refuses
// is lost, and the log says why and what to do.
func TestTextMessageFullInbox(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	var logs lockedBuffer
	a.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	a.cfg.POP3.MaxMailboxBytes = config.LargestStoredMail(a.cfg.Mesh.MaxEnvelopeSize)
	a.start(t)
	now := time.Now()
	if _, err := a.d.Inbox().DeliverExempt(inbox.EnvelopeID{1}, inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)},
		make([]byte, a.cfg.POP3.MaxMailboxBytes)); err != nil {
		t.Fatal(err)
	}
	a.d.onText(tox.PublicKey(randomID(t).PublicKey()), "qtox user", "hello")
	if u := a.d.Inbox().Usage(); u.Mails != 1 || !u.Full() || u.Refusing() {
		t.Fatalf("inbox %+v, want only the mail that filled it, and no mail waiting (the text is lost)", u)
	}
	if !strings.Contains(logs.String(), "text message lost: the inbox is full (pop3.max_mailbox_bytes)") {
		t.Errorf("the log does not say the text was lost to the quota:\n%s", logs.String())
	}
}

// TestTextBounceFullInbox: a plain Tox client whose text message a full
// inbox refuses is told so by a text message in return (Tox confirmed its
// message, so it would believe it delivered), at most once an hour however
// many it sends.
func TestTextBounceFullInbox(t *testing.T) {
	if testing.Short() {
		t.Skip("a node and a plain Tox client on loopback: about 15 s")
	}
	t.Parallel()
	var mu sync.Mutex
	var got []string
	plain, err := tox.New(tox.LoopbackOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	if err := plain.SetCallbacks(tox.Callbacks{FriendMessage: func(_ uint32, _ tox.PublicKey, _ tox.MessageType, text string) {
		mu.Lock()
		got = append(got, text)
		mu.Unlock()
	}}); err != nil {
		t.Fatal(err)
	}

	a := newTestNode(t, "alice")
	a.cfg.POP3.MaxMailboxBytes = config.LargestStoredMail(a.cfg.Mesh.MaxEnvelopeSize)
	var plainID gateway.ToxID
	addr := plain.Address()
	copy(plainID[:], addr[:])
	a.contacts(t, gateway.Contact{Name: "carol", ID: plainID})
	a.start(t)
	now := time.Now()
	if _, err := a.d.Inbox().DeliverExempt(inbox.EnvelopeID{1}, inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)},
		make([]byte, a.cfg.POP3.MaxMailboxBytes)); err != nil {
		t.Fatal(err)
	}
	fn, err := plain.AddFriendNoRequest(tox.PublicKey(a.id.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	port, err := a.d.UDPPort()
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Bootstrap("127.0.0.1", port, a.d.DHTKey()); err != nil {
		t.Fatal(err)
	}
	if port, err = plain.UDPPort(); err != nil {
		t.Fatal(err)
	}
	if err := a.d.Bootstrap("127.0.0.1", port, plain.DHTKey()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the plain client to connect to alice", func() bool {
		c, err := plain.FriendConnection(fn)
		return err == nil && c != tox.ConnectionNone
	})
	for _, text := range []string{"hello alice", "are you there?"} {
		if _, err := plain.SendMessage(fn, tox.MessageNormal, text); err != nil {
			t.Fatal(err)
		}
	}
	notices := func() (n int, all []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range got {
			if strings.HasPrefix(s, "[toxmail] Your message was not delivered: the mailbox is full.") {
				n++
			}
		}
		return n, append(all, got...)
	}
	waitFor(t, 20*time.Second, "the plain client to be told", func() bool { n, _ := notices(); return n > 0 })
	waitFor(t, 10*time.Second, "alice to get both texts", func() bool {
		return a.d.tr.Stats().TextsIn >= 2
	})
	time.Sleep(2 * time.Second) // a second notice, if one were sent, arrives meanwhile
	if n, all := notices(); n != 1 {
		t.Errorf("the plain client got %d notices, want 1 (at most one an hour): %q", n, all)
	}
	if u := a.d.Inbox().Usage(); u.Mails != 1 {
		t.Errorf("inbox %+v, want only the mail that filled it", u)
	}
}
