package daemon

import (
	"net/mail"
	"strings"
	"testing"

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
