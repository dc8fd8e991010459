package daemon

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
)

// TestLowDiskSpace: while the data directory's disk is nearly full, the
// node takes no new mail or envelope — SMTP answers 452 4.3.1, a mail for
// it waits, a relay copy is refused — instead of writing until badger
// dies of SIGBUS; once there is room again, all of it goes through.
func TestLowDiskSpace(t *testing.T) {
	t.Parallel()
	var free atomic.Uint64
	free.Store(1 << 20) // 1 MiB
	a := newTestNode(t, "alice")
	a.opts.FreeSpace = func(string) (uint64, error) { return free.Load(), nil }
	a.start(t)

	expect := smtpDial(t, a.d.SMTPAddr())
	expect(220, "")
	expect(250, "EHLO client.test")
	expect(235, "AUTH PLAIN %s", "AGFsaWNlAHNlY3JldA==") // \0alice\0secret
	if msg := expect(452, "MAIL FROM:<%s>", a.id.Address()); !errorsContain(msg, "4.3.1", "nearly full", "MiB free") {
		t.Errorf("MAIL with the disk full: %q", msg)
	}

	// A relay copy is not taken.
	var b mesh.Batch
	env := make([]byte, envelope.HeaderSize+16)
	b.PutHeld(mesh.HeldMeta{ID: envelope.ID{1}, Expiry: time.Now().Add(time.Hour).Unix(), Size: len(env)}, env)
	st := spaceStore{a.d.store, a.d.roomCheck()}
	if err := st.Apply(&b); !errors.Is(err, errNoRoom) {
		t.Errorf("storing an envelope with the disk full: %v, want errNoRoom", err)
	}
	// A mail for this node waits: the error is temporary.
	kp, _ := envelope.GenerateKeyPair(nil)
	mb, err := gateway.NewMailbox(gateway.MailboxConfig{Inbox: a.d.box, SpaceCheck: a.d.roomCheck()})
	if err != nil {
		t.Fatal(err)
	}
	l := &envelope.Letter{ID: envelope.ID{2}, Sender: kp.Public, Body: []byte("Subject: x\r\n\r\nx\r\n"),
		Created: time.Now(), Expiry: time.Now().Add(time.Hour)}
	if err := mb.Deliver(&mesh.Delivery{Letter: l}); !mesh.Temporary(err) {
		t.Errorf("delivering with the disk full: %v, want a temporary error", err)
	}

	free.Store(1 << 40)
	expect(250, "MAIL FROM:<%s>", a.id.Address())
	if err := st.Apply(&b); err != nil {
		t.Errorf("storing an envelope with room: %v", err)
	}
	if err := mb.Deliver(&mesh.Delivery{Letter: l}); err != nil {
		t.Errorf("delivering with room: %v", err)
	}
}

func errorsContain(msg string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(msg, w) {
			return false
		}
	}
	return true
}
