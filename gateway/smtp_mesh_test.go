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

// A mail submitted over SMTP to a real node crosses the mesh and lands in
// the recipient's inbox: delivery headers, then exactly the submitted bytes.
func TestSMTPThroughMeshToInbox(t *testing.T) {
	clock := mesh.NewVirtualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	network := mesh.NewMemNetwork(clock, mesh.MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: time.Second})
	alice, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	box, err := gateway.NewMailbox(gateway.MailboxConfig{Inbox: ib, Hostname: "bob.local",
		Directory: senderDir{alice.Public: "alice@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	aliceNode := startTestNode(t, alice, network, clock, mesh.NewMemStore(), nil)
	startTestNode(t, bob, network, clock, mesh.NewMemStore(), box)
	network.Befriend(alice.Public, bob.Public)
	network.SetOnline(alice.Public, true)
	network.SetOnline(bob.Public, true)
	runVirtual(clock, 5*time.Second)

	bobID := gateway.NewToxID(bob.Public, [4]byte{1, 2, 3, 4})
	book := newTestBook(t, gateway.Contact{Name: "bob", Address: "bob@example.org", ID: bobID})
	srv, err := gateway.NewSMTPServer(gateway.SMTPConfig{Users: map[string]string{smtpTestUser: smtpTestHash()}},
		&gateway.Resolver{Contacts: book}, aliceNode)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	body := "From: Alice <alice@example.org>\r\n" +
		"To: Bob <bob@example.org>\r\n" +
		"Subject: over the mesh\r\n" +
		"Message-ID: <mesh-1@example.org>\r\n" +
		"\r\n" +
		"Hello Bob,\r\n" +
		".this line starts with a dot\r\n" +
		"8-bit: gr\xc3\xbc\xc3\x9fe\r\n"
	cl, err := smtp.Dial(l.Addr().String())
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
	// 250 means durably queued: the outbox has it before any virtual time passes.
	out := aliceNode.Outbox()
	if len(out) != 1 || out[0].Label != "<mesh-1@example.org> over the mesh" || out[0].To != bob.Public {
		t.Fatalf("outbox after 250: %+v", out)
	}

	runVirtual(clock, time.Minute)

	msgs, err := ib.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("bob's inbox holds %d mails, want 1", len(msgs))
	}
	_, data, err := ib.Get(msgs[0].UID)
	if err != nil {
		t.Fatal(err)
	}
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
