package daemon

import (
	"fmt"
	"net"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
)

// pop3Mails logs in as the test node's user and returns the mails in its
// maildrop; with dele it deletes them too, and QUITs so that the deletion
// is done.
func pop3Mails(t *testing.T, n *testNode, dele bool) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", n.d.POP3Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(conn)
	cmd := func(format string, args ...any) string {
		t.Helper()
		if format != "" {
			if err := tp.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		line, err := tp.ReadLine()
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("POP3 %q: %q, %v", fmt.Sprintf(format, args...), line, err)
		}
		return line
	}
	cmd("")
	cmd("USER %s", n.name)
	cmd("PASS secret")
	var count int
	if _, err := fmt.Sscanf(cmd("STAT"), "+OK %d", &count); err != nil {
		t.Fatal(err)
	}
	var mails []string
	for i := 1; i <= count; i++ {
		cmd("RETR %d", i)
		b, err := tp.ReadDotBytes()
		if err != nil {
			t.Fatal(err)
		}
		mails = append(mails, string(b))
		if dele {
			cmd("DELE %d", i)
		}
	}
	cmd("QUIT")
	return mails
}

// putOutbox writes sent mail into a stopped node's mesh store, as an
// earlier run of the node would have left it.
func putOutbox(t *testing.T, n *testNode, o mesh.OutboxEntry) {
	t.Helper()
	st, err := mesh.OpenBadgerStore(mesh.BadgerOptions{Dir: filepath.Join(n.cfg.DataDir, "mesh")})
	if err != nil {
		t.Fatal(err)
	}
	var b mesh.Batch
	b.PutOutbox(o)
	if err := st.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNonDeliveryReports: mail that expires undelivered, while the node was
// down or while it runs, puts one report of it in the user's inbox, which
// the mail client fetches over POP3; a report the user deleted does not
// come back after a restart.
func TestNonDeliveryReports(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.cfg.Mesh.Lifetime = time.Minute
	bob := randomID(t)
	a.contacts(t, gateway.Contact{Name: "bob", ID: bob, Source: gateway.SourceToxID, Added: time.Now()})

	// Mail queued by an earlier run whose expiry passed while the node was down.
	now := time.Now()
	old := mesh.OutboxEntry{ID: envelope.ID{1, 2, 3}, To: bob.PublicKey(), Created: now.Add(-25 * time.Hour).UnixMilli(),
		Expiry: now.Add(-time.Hour).Unix(), Size: 2048, Status: mesh.StatusQueued, Label: "<old@alice.test>"}
	putOutbox(t, a, old)
	a.start(t)
	var mails []string
	waitFor(t, 10*time.Second, "the report of the mail that expired while the node was down", func() bool {
		mails = pop3Mails(t, a, false)
		return len(mails) == 1
	})
	for _, want := range []string{"From: Mail Delivery System <MAILER-DAEMON@", "Subject: Undelivered mail to bob@tox: not sent within 1 day",
		"In-Reply-To: <old@alice.test>", "report-type=delivery-status", "Final-Recipient: rfc822; bob@tox", "Action: failed",
		"Status: 4.4.7", "without ever leaving your node"} {
		if !strings.Contains(mails[0], want) {
			t.Errorf("the report lacks %q:\n%s", want, mails[0])
		}
	}

	// Mail sent now to a friend who never comes online expires a minute later.
	expect := smtpDial(t, a.d.SMTPAddr())
	expect(220, "")
	expect(250, "EHLO client.test")
	expect(235, "AUTH PLAIN %s", "AGFsaWNlAHNlY3JldA==") // \0alice\0secret
	expect(250, "MAIL FROM:<alice@tox>")
	expect(250, "RCPT TO:<bob@tox>")
	expect(354, "DATA")
	expect(250, "%s", "Message-ID: <new@alice.test>\r\nSubject: hello\r\n\r\nhello bob\r\n.")
	expect(221, "QUIT")
	waitFor(t, 2*time.Minute, "the report of the mail that expired while the node ran", func() bool {
		mails = pop3Mails(t, a, false)
		return len(mails) == 2
	})
	if !strings.Contains(mails[1], "In-Reply-To: <new@alice.test>") || !strings.Contains(mails[1], "within 1 minute") {
		t.Errorf("the second report does not name the mail sent:\n%s", mails[1])
	}

	// Deleted, the reports stay deleted across a restart.
	pop3Mails(t, a, true)
	a.stop(t)
	a.start(t)
	time.Sleep(500 * time.Millisecond) // ten polls of the contacts file
	if mails := pop3Mails(t, a, false); len(mails) != 0 {
		t.Errorf("after a restart the maildrop holds %d mails, want none: %q", len(mails), mails)
	}
}

// TestNonDeliveryReportsOff: smtp.non_delivery_reports = false stores none.
func TestNonDeliveryReportsOff(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.cfg.SMTP.NonDeliveryReports = false
	now := time.Now()
	putOutbox(t, a, mesh.OutboxEntry{ID: envelope.ID{9}, To: randomID(t).PublicKey(), Created: now.Add(-2 * time.Hour).UnixMilli(),
		Expiry: now.Add(-time.Hour).Unix(), Status: mesh.StatusQueued})
	a.start(t)
	waitFor(t, 10*time.Second, "the mail to expire", func() bool {
		o, ok := a.d.node.OutboxEntry(envelope.ID{9})
		return ok && o.Status == mesh.StatusExpired
	})
	time.Sleep(500 * time.Millisecond)
	if mails := pop3Mails(t, a, false); len(mails) != 0 {
		t.Errorf("the maildrop holds %d mails with reports off, want none", len(mails))
	}
}
