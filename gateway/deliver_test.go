package gateway

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

type dirMap map[envelope.PublicKey][2]string

func (d dirMap) SenderAddress(k envelope.PublicKey) (string, string, bool) {
	v, ok := d[k]
	return v[0], v[1], ok
}

func (d dirMap) AddressKey(addr string) (envelope.PublicKey, bool) {
	for k, v := range d {
		if strings.EqualFold(v[0], addr) {
			return k, true
		}
	}
	return envelope.PublicKey{}, false
}

func letterFrom(t *testing.T, from envelope.KeyPair, to envelope.KeyPair, body string) *envelope.Letter {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	e, err := envelope.NewKeyring(envelope.Config{Identity: from}).Seal(envelope.SealParams{
		To: to.Public, Body: []byte(body), Created: now, Expiry: now.Add(time.Hour), Hops: 4})
	if err != nil {
		t.Fatal(err)
	}
	e.Hops = 2
	l, err := envelope.NewKeyring(envelope.Config{Identity: to}).Open(e.Encode(), now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestMailboxDeliver(t *testing.T) {
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	mallory, _ := envelope.GenerateKeyPair(nil)
	ib, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	dir := dirMap{alice.Public: {"alice@example.org", "contacts"}, mallory.Public: {"mallory@evil.example", "tox1 DNS, unauthenticated"}}
	mb, err := NewMailbox(MailboxConfig{Inbox: ib, Directory: dir, Hostname: "bob.local"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		from       envelope.KeyPair
		check      string
	}{
		{"known sender", "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nhello\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"forged From", "From: Alice <alice@example.org>\r\nSubject: trust me\r\n\r\npay\r\n", mallory, "X-Toxmail-From-Check: fail"},
		{"own key", "From: " + strings.ToLower(bob.Public.String()) + "@tox\r\n\r\nx\r\n", bob, "X-Toxmail-From-Check: pass"},
		{"own Tox ID", "From: " + NewToxID(bob.Public, [4]byte{0, 0, 0, 7}).Address() + "\r\n\r\nx\r\n", bob, "X-Toxmail-From-Check: pass"},
		{"look-alike Tox ID, top bit set", "From: " + NewToxID(topBit(alice.Public), [4]byte{0, 0, 0, 7}).Address() + "\r\n\r\nx\r\n", bob, "X-Toxmail-From-Check: fail (From is a Tox address that is no valid Tox ID"},
		{"look-alike Tox ID, bad checksum", "From: " + badChecksum(NewToxID(alice.Public, [4]byte{0, 0, 0, 7})) + "@tox\r\n\r\nx\r\n", bob, "X-Toxmail-From-Check: fail (From is a Tox address that is no valid Tox ID"},
		{"someone else's Tox ID", "From: " + NewToxID(alice.Public, [4]byte{0, 0, 0, 7}).Address() + "\r\n\r\nx\r\n", bob, "X-Toxmail-From-Check: fail"},
		{"stranger claims a contact", "From: Alice <alice@example.org>\r\n\r\nx\r\n", func() envelope.KeyPair { k, _ := envelope.GenerateKeyPair(nil); return k }(), "X-Toxmail-From-Check: fail"},
		{"name in windows-1252", "From: =?windows-1252?q?Andr=E9_=93A=94?= <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"name in KOI8-R", "From: =?koi8-r?b?8NLJ18XU?= <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"name in an unknown charset", "From: =?x-unheard-of?q?Andr=E9?= <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"forged, name in windows-1252", "From: =?windows-1252?q?Andr=E9?= <alice@example.org>\r\n\r\nx\r\n", mallory, "X-Toxmail-From-Check: fail (From says alice@example.org"},
		// The name a client shows must not show another address than
		// the one checked (a comment is read as the name too).
		{"name shows another address", "From: \"ceo@bank.example\" <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail (the From name shows the address ceo@bank.example, but the mail is from alice@example.org)"},
		{"comment shows another address", "From: alice@example.org (carol@example.org)\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail (the From name shows the address carol@example.org"},
		{"name shows another address in look-alikes", "From: \"ceo\uff20bank\u2024example\" <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail (the From name shows the address ceo@bank.example"},
		{"name shows another address spaced", "From: \"ceo @ bank.example\" <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail (the From name shows the address ceo@bank.example"},
		{"name shows its own address", "From: \"Alice (alice@example.org)\" <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"name with an @ that is no address", "From: \"Alice @ work\" <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"two From fields", "From: alice@example.org\r\nFrom: CEO <ceo@bank.example>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail"},
		{"leading white space", " continuation\r\nFrom: alice@example.org\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail"},
		// Security review: the check read 64 KiB of header and missed a
		// second From after it; and RFC 5322 §4.5.3 lets white space come
		// before the colon, which Go's parser does not read as a From.
		{"second From past 64 KiB", "From: alice@example.org\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 70)+"\r\n", 1000) +
			"From: CEO <ceo@bank.example>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail"},
		{"only From, with space before the colon", "From : Alice <alice@example.org>\r\nSubject: hi\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"From with space before the colon", "From: alice@example.org\r\nFrom : CEO <ceo@bank.example>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: fail"},
		{"long header, one From", strings.Repeat("X-Pad: "+strings.Repeat("a", 70)+"\r\n", 1000) + "From: Alice <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
		{"unknown key", "From: someone@else.example\r\n\r\nx\r\n", func() envelope.KeyPair { k, _ := envelope.GenerateKeyPair(nil); return k }(), "X-Toxmail-From-Check: none"},
		{"no header", "just text", alice, "X-Toxmail-From-Check: fail"},
		{"mbox From line first", "From 0123abc Mon Sep 17 00:00:00 2001\r\nFrom: Alice <alice@example.org>\r\n\r\nx\r\n", alice, "X-Toxmail-From-Check: pass"},
	}
	// The cases that are all body, which get an empty line before them:
	// their first line would otherwise read as a field (or fold into the
	// last delivery field).
	allBody := map[string]bool{"no header": true, "leading white space": true}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := letterFrom(t, c.from, bob, c.body)
			d := &mesh.Delivery{Letter: l, Received: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)}
			if err := mb.Deliver(d); err != nil {
				t.Fatal(err)
			}
			if err := mb.Deliver(d); err != nil { // exactly once: a second delivery is a no-op
				t.Fatal(err)
			}
			_, data, err := ib.Get(inbox.EnvelopeID(l.ID).UID())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(data, []byte(c.body)) {
				t.Fatalf("the stored mail does not end with the submitted bytes")
			}
			hdr := string(data[:len(data)-len(c.body)])
			if sep := strings.HasSuffix(hdr, "\r\n\r\n"); sep != allBody[c.name] {
				t.Errorf("an empty line between the delivery fields and the mail: %v, want %v", sep, allBody[c.name])
			} else if sep {
				hdr = hdr[:len(hdr)-2]
			}
			for _, want := range []string{c.check, "X-Toxmail-Sender-Key: " + c.from.Public.String(), "X-Toxmail-Path: 2 hops (TTL 4)", "by bob.local", "X-Toxmail-Envelope: " + l.ID.String()} {
				if !strings.Contains(hdr, want) {
					t.Errorf("headers lack %q:\n%s", want, hdr)
				}
			}
			for _, line := range strings.Split(strings.TrimSuffix(hdr, "\r\n"), "\r\n") {
				if line == "" || strings.ContainsAny(line, "\r\n") {
					t.Fatalf("malformed header line %q", line)
				}
			}
		})
	}
	if n, _, _ := ib.Stats(); n != len(cases) {
		t.Fatalf("inbox holds %d mails, want %d", n, len(cases))
	}
}

// TestMailboxRenamesSenderFields: a sender cannot plant this node's
// delivery fields; theirs are renamed and the real verdict is the only one.
func TestMailboxRenamesSenderFields(t *testing.T) {
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	ib, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	mb, _ := NewMailbox(MailboxConfig{Inbox: ib})
	body := "X-Toxmail-From-Check: pass (trust me)\r\nFrom: ceo@bank.example\r\nx-toxmail-sender-key: 00\r\n\r\nX-Toxmail-From-Check: pass in the body stays\r\n"
	l := letterFrom(t, alice, bob, body)
	if err := mb.Deliver(&mesh.Delivery{Letter: l}); err != nil {
		t.Fatal(err)
	}
	_, data, err := ib.Get(inbox.EnvelopeID(l.ID).UID())
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	header, _, _ := strings.Cut(s, "\r\n\r\n")
	if n := strings.Count(header, "X-Toxmail-From-Check: "); n != 1 || strings.Contains(header, "\nX-Toxmail-From-Check: pass (trust") {
		t.Fatalf("%d From-Check fields in the header, or the forged one kept:\n%s", n, s)
	}
	for _, want := range []string{"X-Sender-Toxmail-From-Check: pass (trust me)", "X-Sender-Toxmail-sender-key: 00", "X-Toxmail-Renamed: 2 field(s)", "\r\n\r\nX-Toxmail-From-Check: pass in the body stays\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("stored mail lacks %q:\n%s", want, s)
		}
	}
}

func TestMailboxErrorsClassify(t *testing.T) {
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	ib, err := inbox.Open(inbox.Options{InMemory: true, MaxMessageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := NewMailbox(MailboxConfig{Inbox: ib})
	big := letterFrom(t, alice, bob, "From: a@b\r\n\r\n"+strings.Repeat("x", 500))
	err = mb.Deliver(&mesh.Delivery{Letter: big})
	if err == nil || mesh.Temporary(err) || !errors.Is(err, inbox.ErrTooLarge) {
		t.Fatalf("oversize mail: got %v, want a permanent ErrTooLarge", err)
	}
	ib.Close()
	small := letterFrom(t, alice, bob, "From: a@b\r\n\r\nx")
	if err := mb.Deliver(&mesh.Delivery{Letter: small}); err == nil || !mesh.Temporary(err) {
		t.Fatalf("closed inbox: got %v, want a temporary error", err)
	}
}

// TestSenderAddressOfNamedContact: a sender the address book knows by Tox
// ID only (a name, no mail address) is named in the delivery headers, and
// its From is checked as for any key with no address.
func TestSenderAddressOfNamedContact(t *testing.T) {
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	stranger, _ := envelope.GenerateKeyPair(nil)
	mb := bookMailbox(t, "bob.local", Contact{Name: "alice", ID: NewToxID(alice.Public, [4]byte{1, 2, 3, 4})})
	for _, c := range []struct {
		sender      envelope.KeyPair
		want, check string
	}{
		{alice, `X-Toxmail-Sender-Address: none (address book contact "alice", known by Tox ID only)`, "X-Toxmail-From-Check: none"},
		{stranger, "X-Toxmail-Sender-Address: unknown (not in the address book)", "X-Toxmail-From-Check: none"},
	} {
		l := letterFrom(t, c.sender, bob, "From: someone@else.example\r\n\r\nx\r\n")
		h := string(mb.DeliveryHeaders(&mesh.Delivery{Letter: l}))
		if !strings.Contains(h, c.want+"\r\n") || !strings.Contains(h, c.check) {
			t.Errorf("headers:\n%s\nwant %q and %q", h, c.want, c.check)
		}
	}
}

// NAME@tox is the address of the contact named NAME (RCPT TO reads it
// so): the From check holds it to that contact's key, like any address
// the book gives a key.
func TestFromCheckNameAtTox(t *testing.T) {
	carol, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	me, _ := envelope.GenerateKeyPair(nil)
	mb := bookMailbox(t, "me.local",
		Contact{Name: "carol", Address: "carol@example.org", ID: NewToxID(carol.Public, [4]byte{1, 2, 3, 4})},
		Contact{Name: "bob", ID: NewToxID(bob.Public, [4]byte{5, 6, 7, 8})})
	for _, tt := range []struct {
		sender envelope.KeyPair
		from   string
		want   string
	}{
		{bob, "carol@tox", "fail (From says carol@tox, the contact carol is " + carol.Public.Short()},
		{bob, "Carol <CAROL@tox>", "fail (From says CAROL@tox, the contact carol is"},
		{bob, "carol@example.org", "fail"},
		{carol, "carol@tox", "pass (From is the sender's name in the address book at @tox)"},
		{bob, "bob@tox", "pass"},
	} {
		h := string(mb.DeliveryHeaders(&mesh.Delivery{Letter: letterFrom(t, tt.sender, me, "From: "+tt.from+"\r\nSubject: hi\r\n\r\nx\r\n")}))
		if !strings.Contains(h, "X-Toxmail-From-Check: "+tt.want) {
			i := strings.Index(h, "X-Toxmail-From-Check")
			t.Errorf("From: %s by %s: got %q, want %q", tt.from, tt.sender.Public.Short(), strings.SplitN(h[i:], "\r\n", 2)[0], tt.want)
		}
	}
}

// bookMailbox is a Mailbox over an in-memory inbox whose directory is an
// address book of contacts.
func bookMailbox(t *testing.T, hostname string, contacts ...Contact) *Mailbox {
	t.Helper()
	book, err := NewContactBook(contacts)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	mb, err := NewMailbox(MailboxConfig{Inbox: ib, Directory: book, Hostname: hostname})
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// topBit returns k with the top bit of its last byte set: a key no Tox
// node has.
func topBit(k envelope.PublicKey) envelope.PublicKey {
	k[31] |= 0x80
	return k
}

// badChecksum returns id's 76 hex digits with the checksum's last digit
// changed.
func badChecksum(id ToxID) string {
	s := []byte(id.String())
	if s[75] == '0' {
		s[75] = '1'
	} else {
		s[75] = '0'
	}
	return string(s)
}
