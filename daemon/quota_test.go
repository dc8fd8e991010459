package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// oneSender is a gateway.SenderDirectory that knows one sender by a long
// address, so the delivery headers are as long as they get.
type oneSender struct {
	key  envelope.PublicKey
	addr string
}

func (o oneSender) SenderAddress(k envelope.PublicKey) (string, string, bool) {
	return o.addr, "tox1 DNS, unauthenticated", k == o.key
}

func (o oneSender) AddressKey(addr string) (envelope.PublicKey, bool) {
	return o.key, strings.EqualFold(addr, o.addr)
}

// TestLeastQuotaTakesLargestMail: the smallest quota the config accepts
// (config.LargestStoredMail) takes the worst mail one envelope can bring
// into an empty inbox: the largest sealable body, all bare LFs, which
// delivery doubles into CRLFs, under the longest delivery headers. Else
// that mail would be refused as temporary and retried until it expires.
// 8257672 is a size where an envelope padding bucket ends, so padding
// leaves no slack.
func TestLeastQuotaTakesLargestMail(t *testing.T) {
	from, _ := envelope.GenerateKeyPair(nil)
	to, _ := envelope.GenerateKeyPair(nil)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, size := range []int{mesh.DefaultConfig().MaxEnvelopeSize, 8257672} {
		c := config.Default()
		c.Mesh.MaxEnvelopeSize = size
		c.POP3.MaxMailboxBytes = config.LargestStoredMail(size)
		if err := c.Validate(); err != nil {
			t.Fatalf("max_envelope_size %d with the least quota: %v", size, err)
		}
		c.POP3.MaxMailboxBytes--
		if err := c.Validate(); err == nil {
			t.Errorf("max_envelope_size %d: a quota one byte below the least was accepted", size)
		}

		ib, err := inbox.Open(inbox.Options{InMemory: true, Quota: config.LargestStoredMail(size), MaxMessageSize: inboxLimit(size)})
		if err != nil {
			t.Fatal(err)
		}
		mb, err := gateway.NewMailbox(gateway.MailboxConfig{Inbox: ib, Hostname: strings.Repeat("h", 200) + ".example.org",
			Directory: oneSender{from.Public, strings.Repeat("r", 64) + "@" + strings.Repeat("m", 180) + ".example.org"}})
		if err != nil {
			t.Fatal(err)
		}
		head := "X-Toxmail-A: 1\n\n"
		n := int(gateway.LargestSealableBody(size))
		e, err := envelope.NewKeyring(envelope.Config{Identity: from}).Seal(envelope.SealParams{
			To: to.Public, Body: []byte(head + strings.Repeat("\n", n-len(head))), Created: now, Expiry: now.Add(time.Hour), Hops: 4})
		if err != nil {
			t.Fatal(err)
		}
		l, err := envelope.NewKeyring(envelope.Config{Identity: to}).Open(e.Encode(), now)
		if err != nil {
			t.Fatal(err)
		}
		if err := mb.Deliver(&mesh.Delivery{Letter: l, From: mesh.FriendKey{1}, Received: now}); err != nil {
			t.Errorf("max_envelope_size %d: an empty inbox at the least quota (%d) refuses the largest mail: %v", size, config.LargestStoredMail(size), err)
		}
		if u := ib.Usage(); u.Mails != 1 {
			t.Errorf("max_envelope_size %d: Usage %+v, want the mail stored", size, u)
		} else {
			t.Logf("max_envelope_size %d: mail of %d bytes stored under a quota of %d", size, u.Bytes, u.Quota)
		}
		ib.Close()
	}
}

// TestInboxRefusalNeedsWaitingMail: the dashboard and status say mail
// waits for room only while the mesh has a delivery waiting; a refusal
// the inbox remembers is not enough (the mail may have expired since).
func TestInboxRefusalNeedsWaitingMail(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.cfg.POP3.MaxMailboxBytes = config.LargestStoredMail(a.cfg.Mesh.MaxEnvelopeSize)
	a.start(t)
	now := time.Now()
	meta := inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)}
	if _, err := a.d.Inbox().DeliverExempt(inbox.EnvelopeID{1}, meta, make([]byte, a.cfg.POP3.MaxMailboxBytes-100)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.d.Inbox().Deliver(inbox.EnvelopeID{2}, meta, make([]byte, 1000)); err == nil {
		t.Fatal("a mail past the quota was taken")
	}
	if u := a.d.Inbox().Usage(); !u.Refusing() {
		t.Fatalf("the inbox does not remember the refusal: %+v", u)
	}
	if u := (&backend{a.d}).Inbox(); u.Refusing() {
		t.Errorf("the dashboard says mail waits for room (%+v), but the mesh has none waiting", u)
	}
}
