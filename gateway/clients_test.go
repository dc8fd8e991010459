package gateway

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// clNet is two toxmail nodes, alice and bob, friends over an in-memory mesh
// in real time: alice's SMTP server and bob's POP3 server listen on
// loopback for real mail clients.
type clNet struct {
	smtp, pop3 string // host:port
	bob        *inbox.Inbox
	alice      *mesh.Node
}

const clPass = "correct horse battery staple"

func clStart(t *testing.T) *clNet {
	t.Helper()
	clock := mesh.RealClock{}
	net0 := mesh.NewMemNetwork(clock, mesh.MemConfig{})
	akp, _ := envelope.GenerateKeyPair(nil)
	bkp, _ := envelope.GenerateKeyPair(nil)
	ib, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	book, err := NewContactBook([]Contact{{Name: "alice", Address: "alice@example.org", ID: NewToxID(akp.Public, [4]byte{1, 2, 3, 4}), Source: SourceContacts}})
	if err != nil {
		t.Fatal(err)
	}
	mbox, err := NewMailbox(MailboxConfig{Inbox: ib, Directory: book, Hostname: "bob.test"})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*mesh.Node
	for _, x := range []struct {
		kp  envelope.KeyPair
		box mesh.Mailbox
	}{{akp, nil}, {bkp, mbox}} {
		n, err := mesh.NewNode(mesh.DefaultConfig(), mesh.Deps{Identity: x.kp, Transport: net0.Transport(x.kp.Public), Store: mesh.NewMemStore(), Mailbox: x.box, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
	}
	net0.Befriend(akp.Public, bkp.Public)
	net0.SetOnline(akp.Public, true)
	net0.SetOnline(bkp.Public, true)

	// Alice's SMTP: she knows bob by address.
	aliceBook, err := NewContactBook([]Contact{{Name: "bob", Address: "bob@example.org", ID: NewToxID(bkp.Public, [4]byte{9, 9, 9, 9}), Source: SourceContacts}})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := HashPassword(clPass)
	if err != nil {
		t.Fatal(err)
	}
	scfg := DefaultSMTPConfig()
	scfg.Users = map[string]string{"alice": hash}
	smtpSrv, err := NewSMTPServer(scfg, &Resolver{Contacts: aliceBook}, nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go smtpSrv.Serve(sl)
	t.Cleanup(func() { smtpSrv.Close() })

	// Bob's POP3.
	drop := InboxMaildrop(ib, nil, nil)
	pop, err := NewPOP3Server(DefaultPOP3Config(), POP3AuthFunc(func(user, pass string) (Maildrop, error) {
		if user != "bob" || pass != clPass {
			return nil, ErrPOP3BadCredentials
		}
		return drop, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go pop.Serve(pl)
	t.Cleanup(func() { pop.Close() })
	return &clNet{smtp: sl.Addr().String(), pop3: pl.Addr().String(), bob: ib, alice: nodes[0]}
}

func clNeed(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test installs it): %v", tool, err)
		}
	}
}

// clRun runs a client with a deadline and returns its output.
func clRun(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func clWaitMails(t *testing.T, ib *inbox.Inbox, n int) []inbox.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := ib.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) >= n || time.Now().After(deadline) {
			if len(list) != n {
				t.Fatalf("bob's inbox holds %d mails, want %d", len(list), n)
			}
			return list
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestThirdPartyClients submits mail with curl, Python's smtplib and
// swaks to alice's SMTP server, and reads it at bob's POP3 server with curl
// and Python's poplib: real clients against the real servers.
func TestThirdPartyClients(t *testing.T) {
	clNeed(t, "curl", "swaks", "python3")
	c := clStart(t)
	host, port, _ := net.SplitHostPort(c.smtp)
	phost, pport, _ := net.SplitHostPort(c.pop3)

	// 1. curl over smtp://
	curlMail := []byte("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: via curl\r\nMessage-ID: <curl-1@example.org>\r\n\r\nHello from curl.\r\n.leading dot survives\r\n")
	file := filepath.Join(t.TempDir(), "mail.eml")
	if err := os.WriteFile(file, curlMail, 0o600); err != nil {
		t.Fatal(err)
	}
	clRun(t, nil, "curl", "-sS", "--url", "smtp://"+c.smtp, "--mail-from", "alice@example.org",
		"--mail-rcpt", "bob@example.org", "--user", "alice:"+clPass, "--upload-file", file)

	// 2. Python smtplib, with a non-ASCII (8-bit) body.
	pyMail := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: via smtplib\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n"
	clRun(t, []byte(pyMail), "python3", "-c", `
import smtplib, sys
msg = sys.stdin.buffer.read()
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20)
s.ehlo()
assert s.has_extn("8bitmime") and s.has_extn("size") and "PLAIN" in s.esmtp_features["auth"].upper(), s.esmtp_features
s.login("alice", sys.argv[3])
s.sendmail("alice@example.org", ["bob@example.org"], msg, mail_options=["BODY=8BITMIME"])
s.quit()
`, host, port, clPass)

	// 3. swaks with AUTH LOGIN.
	clRun(t, nil, "swaks", "--server", host, "--port", port, "--auth", "LOGIN", "--auth-user", "alice",
		"--auth-password", clPass, "--from", "alice@example.org", "--to", "bob@example.org",
		"--header", "Subject: via swaks", "--body", "Hello from swaks.", "--silent", "2")

	// A recipient nobody knows is refused with 550 5.1.1 and the reason.
	out, err := exec.Command("swaks", "--server", host, "--port", port, "--auth", "PLAIN", "--auth-user", "alice",
		"--auth-password", clPass, "--from", "alice@example.org", "--to", "nobody@nowhere.invalid", "--quit-after", "RCPT").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "550 5.1.1") {
		t.Fatalf("unknown recipient: swaks said\n%s", out)
	}

	list := clWaitMails(t, c.bob, 3)

	// 4. curl over pop3://: list, then fetch the message curl sent.
	listing := clRun(t, nil, "curl", "-sS", "--url", "pop3://"+c.pop3+"/", "--user", "bob:"+clPass)
	if lines := strings.Split(strings.TrimSpace(listing), "\n"); len(lines) != 3 {
		t.Fatalf("curl LIST gave %q", listing)
	}
	var curlIdx int
	for i, m := range list {
		_, data, _ := c.bob.Get(m.UID)
		if bytes.Contains(data, []byte("via curl")) {
			curlIdx = i + 1
		}
	}
	got := clRun(t, nil, "curl", "-sS", "--url", "pop3://"+c.pop3+"/"+strconv.Itoa(curlIdx), "--user", "bob:"+clPass)
	if !strings.HasSuffix(strings.ReplaceAll(got, "\r\n", "\n"), strings.ReplaceAll(string(curlMail), "\r\n", "\n")) ||
		!strings.Contains(got, "X-Toxmail-From-Check: pass") {
		t.Fatalf("curl RETR gave:\n%s", got)
	}

	// 5. Python poplib: byte-for-byte check of the smtplib mail, then DELE.
	clRun(t, []byte(pyMail), "python3", "-c", `
import poplib, sys
want = sys.stdin.buffer.read()
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
p.user("bob"); p.pass_(sys.argv[3])
count, size = p.stat()
assert count == 3, count
ids = p.uidl()[1]
assert len(ids) == 3, ids
found = 0
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    raw = b"\r\n".join(lines) + b"\r\n"
    assert octets == len(raw), (octets, len(raw))
    if raw.endswith(want):
        found = i
        assert b"X-Toxmail-Sender-Key: " in raw
assert found, "the smtplib mail did not come back byte for byte"
p.dele(found)
p.quit()
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
p.user("bob"); p.pass_(sys.argv[3])
assert p.stat()[0] == 2
p.quit()
`, phost, pport, clPass)

	for _, o := range c.alice.Outbox() {
		if o.Status != mesh.StatusDelivered {
			t.Errorf("alice's outbox: %v for %v", o.Status, o.ID.Short())
		}
	}
}
