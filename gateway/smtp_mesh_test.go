package gateway_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// runVirtual advances clock by d, firing everything due (bounded).
func runVirtual(clock *mesh.VirtualClock, d time.Duration) {
	deadline := clock.Now().Add(d)
	for i := 0; i < 100_000 && clock.Pending() > 0; i++ {
		before := clock.Fired()
		clock.RunUntil(deadline)
		if clock.Fired() == before {
			break
		}
	}
	clock.RunUntil(deadline)
}

func startTestNode(t testing.TB, kp envelope.KeyPair, network *mesh.MemNetwork, clock mesh.Clock, store mesh.Store, box mesh.Mailbox) *mesh.Node {
	t.Helper()
	cfg := mesh.DefaultConfig()
	cfg.SweepInterval = 0
	n, err := mesh.NewNode(cfg, mesh.Deps{Identity: kp, Transport: network.Transport(kp.Public),
		Store: store, Mailbox: box, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// meshSMTP is alice's node with an SMTP server, befriended over a
// MemNetwork with bob's node, whose mailbox is ib: alice's key, bob's,
// the server's address and what it submits to.
type meshSMTP struct {
	clock      *mesh.VirtualClock
	alice, bob envelope.KeyPair
	aliceNode  *mesh.Node
	ib         *inbox.Inbox
	addr       string
}

// newMeshSMTP starts it; tweak, if set, changes the SMTP server's config.
func newMeshSMTP(t *testing.T, tweak func(c *gateway.SMTPConfig, alice envelope.PublicKey)) *meshSMTP {
	t.Helper()
	m := &meshSMTP{clock: mesh.NewVirtualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}
	network := mesh.NewMemNetwork(m.clock, mesh.MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: time.Second})
	var err error
	if m.alice, err = envelope.GenerateKeyPair(nil); err != nil {
		t.Fatal(err)
	}
	if m.bob, err = envelope.GenerateKeyPair(nil); err != nil {
		t.Fatal(err)
	}
	if m.ib, err = inbox.Open(inbox.Options{InMemory: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.ib.Close() })
	box, err := gateway.NewMailbox(gateway.MailboxConfig{Inbox: m.ib, Hostname: "bob.local",
		Directory: senderDir{m.alice.Public: "alice@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	m.aliceNode = startTestNode(t, m.alice, network, m.clock, mesh.NewMemStore(), nil)
	startTestNode(t, m.bob, network, m.clock, mesh.NewMemStore(), box)
	network.Befriend(m.alice.Public, m.bob.Public)
	network.SetOnline(m.alice.Public, true)
	network.SetOnline(m.bob.Public, true)
	runVirtual(m.clock, 5*time.Second)

	bobID := gateway.NewToxID(m.bob.Public, [4]byte{1, 2, 3, 4})
	book := newTestBook(t, gateway.Contact{Name: "bob", Address: "bob@example.org", ID: bobID})
	cfg := gateway.SMTPConfig{Users: map[string]string{smtpTestUser: smtpTestHash()}}
	if tweak != nil {
		tweak(&cfg, m.alice.Public)
	}
	srv, err := gateway.NewSMTPServer(cfg, &gateway.Resolver{Contacts: book}, m.aliceNode)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	m.addr = l.Addr().String()
	return m
}

// send submits body from alice to bob@example.org and fails the test
// unless it is accepted.
func (m *meshSMTP) send(t *testing.T, body string) {
	t.Helper()
	cl, err := smtp.Dial(m.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Auth(sasl.NewPlainClient("", smtpTestUser, smtpTestPass)); err != nil {
		t.Fatal(err)
	}
	if err := cl.SendMail("alice@example.org", []string{"bob@example.org"}, strings.NewReader(body)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
}

// received runs the mesh for a minute and returns the one mail in bob's
// inbox.
func (m *meshSMTP) received(t *testing.T) []byte {
	t.Helper()
	runVirtual(m.clock, time.Minute)
	msgs, err := m.ib.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("bob's inbox holds %d mails, want 1", len(msgs))
	}
	_, data, err := m.ib.Get(msgs[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A mail submitted over SMTP to a real node crosses the mesh and lands in
// the recipient's inbox: delivery headers, then exactly the submitted bytes.
func TestSMTPThroughMeshToInbox(t *testing.T) {
	m := newMeshSMTP(t, nil)
	alice, bob, aliceNode := m.alice, m.bob, m.aliceNode
	body := "From: Alice <alice@example.org>\r\n" +
		"To: Bob <bob@example.org>\r\n" +
		"Subject: over the mesh\r\n" +
		"Message-ID: <mesh-1@example.org>\r\n" +
		"\r\n" +
		"Hello Bob,\r\n" +
		".this line starts with a dot\r\n" +
		"8-bit: gr\xc3\xbc\xc3\x9fe\r\n"
	m.send(t, body)
	// 250 means durably queued: the outbox has it before any virtual time passes.
	out := aliceNode.Outbox()
	if len(out) != 1 || out[0].Label != "<mesh-1@example.org> over the mesh" || out[0].To != bob.Public {
		t.Fatalf("outbox after 250: %+v", out)
	}
	data := m.received(t)
	if !bytes.HasSuffix(data, []byte(body)) {
		t.Fatalf("stored mail does not end with the submitted bytes:\n%q", data)
	}
	hdr := string(data[:len(data)-len(body)])
	for _, want := range []string{
		"Received: from the toxmail mesh",
		"X-Toxmail-Sender-Key: " + alice.Public.String() + "\r\n",
		"X-Toxmail-From-Check: pass",
		"X-Toxmail-Path: 1 hop (TTL",
	} {
		if !strings.Contains(hdr, want) {
			t.Errorf("delivery headers lack %q:\n%s", want, hdr)
		}
	}
	if !strings.HasSuffix(hdr, "\r\n") || strings.Contains(hdr, "\r\n\r\n") {
		t.Errorf("delivery headers are not header lines before the mail's own:\n%q", hdr)
	}
	if e, ok := aliceNode.OutboxEntry(out[0].ID); !ok || e.Status != mesh.StatusDelivered {
		t.Errorf("alice's outbox: got %+v, want delivered (the ack came back)", e)
	}
}

// A mail without a From field (a script's) gets the node's own address
// from the SMTP server (OwnFrom, as the daemon makes it), which the
// recipient's From check ties to the sender's key; without it the mail
// showed no sender, and failed the check. A nickname that shows an
// address is left out (the check would take it for a forgery), one in
// another script is encoded, and a mail that has a From keeps it.
func TestSMTPAddsOwnFrom(t *testing.T) {
	for _, tc := range []struct {
		nick, body string
		want       string // the From field the recipient sees; "" for the mail's own
	}{
		{"Alice", "Subject: from a script\r\n\r\nno From above\r\n", `"Alice" <ID>`},
		{"", "Subject: x\r\n\r\ny\r\n", "<ID>"},
		{"alice@example.org", "Subject: x\r\n\r\ny\r\n", "<ID>"},
		{"Zoë", "Subject: x\r\n\r\ny\r\n", "=?utf-8?q?Zo=C3=AB?= <ID>"},
		{"Alice", "a headerless text whose second line\r\nFrom: x@y\r\nlooks like a field\r\n", `"Alice" <ID>`},
		{"Alice", "From: Alice <ID>\r\nSubject: has one\r\n\r\nz\r\n", ""},
	} {
		t.Run(tc.nick, func(t *testing.T) {
			var id string
			m := newMeshSMTP(t, func(c *gateway.SMTPConfig, alice envelope.PublicKey) {
				tid := gateway.NewToxID(alice, [4]byte{9, 9, 9, 9})
				id = tid.Address()
				c.From = gateway.OwnFrom(tc.nick, tid)
			})
			body := strings.ReplaceAll(tc.body, "ID", id)
			m.send(t, body)
			data := string(m.received(t))
			if !strings.HasSuffix(data, body) || strings.Count(data, "\nFrom: ") != 1+strings.Count(body, "\nFrom: ") {
				t.Fatalf("the mail is not the submitted one with at most one From added:\n%s", data)
			}
			if tc.want != "" {
				if want := "\r\nFrom: " + strings.ReplaceAll(tc.want, "ID", id) + "\r\n"; !strings.Contains(data, want) {
					t.Fatalf("the mail lacks the From %q the server adds:\n%s", want, data)
				}
			}
			if !strings.Contains(data, "X-Toxmail-From-Check: pass") {
				t.Errorf("the From does not pass the recipient's check:\n%s", data)
			}
		})
	}
}

type senderDir map[envelope.PublicKey]string

func (d senderDir) SenderAddress(k envelope.PublicKey) (string, string, bool) {
	a, ok := d[k]
	return a, "contacts", ok
}

func (d senderDir) AddressKey(addr string) (envelope.PublicKey, bool) {
	for k, a := range d {
		if strings.EqualFold(a, addr) {
			return k, true
		}
	}
	return envelope.PublicKey{}, false
}

// Given a *mesh.Node, the default SIZE is what fits that node's envelopes.
func TestSMTPSizeFromNode(t *testing.T) {
	kp, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mesh.DefaultConfig()
	cfg.MaxEnvelopeSize = 64 << 10
	clock := mesh.NewVirtualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	node, err := mesh.NewNode(cfg, mesh.Deps{Identity: kp, Transport: mesh.NewMemNetwork(clock, mesh.MemConfig{}).Transport(kp.Public),
		Store: mesh.NewMemStore(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gateway.NewSMTPServer(gateway.SMTPConfig{Users: map[string]string{smtpTestUser: smtpTestHash()}},
		&gateway.Resolver{}, node)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	want := gateway.LargestSealableBody(64 << 10)
	if want <= 0 || want >= 64<<10 {
		t.Fatalf("LargestSealableBody(64 KiB) = %d", want)
	}
	c := dialSMTP(t, l.Addr().String())
	if got := c.ehlo(); !strings.Contains(got, fmt.Sprintf("\nSIZE %d\n", want)) {
		t.Fatalf("EHLO: got %q, want SIZE %d", got, want)
	}
}
