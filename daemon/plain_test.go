package daemon

import (
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

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
	a.cfg.POP3.MaxMailboxBytes = 2 * int64(a.cfg.Mesh.MaxEnvelopeSize)
	a.start(t)
	now := time.Now()
	if _, err := a.d.Inbox().DeliverExempt(inbox.EnvelopeID{1}, inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)},
		make([]byte, a.cfg.POP3.MaxMailboxBytes)); err != nil {
		t.Fatal(err)
	}
	a.d.onText(tox.PublicKey(randomID(t).PublicKey()), "qtox user", "hello")
	if u := a.d.Inbox().Usage(); u.Mails != 1 || !u.Full() {
		t.Fatalf("inbox %+v, want only the mail that filled it", u)
	}
	if !strings.Contains(logs.String(), "text message lost: the inbox is full (pop3.max_mailbox_bytes)") {
		t.Errorf("the log does not say the text was lost to the quota:\n%s", logs.String())
	}
}
