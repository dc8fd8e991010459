package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// reportFixture is a mailbox over an in-memory inbox whose address book
// knows zoë (a name and an address) and bob (a name only).
func reportFixture(t *testing.T) (*Mailbox, *inbox.Inbox, envelope.PublicKey, envelope.PublicKey) {
	t.Helper()
	zoe, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	mb := bookMailbox(t, "alice.test",
		Contact{Name: "zoë", Address: "zoe@example.org", ID: NewToxID(zoe.Public, [4]byte{1}), Source: SourceToxID},
		Contact{Name: "bob", ID: NewToxID(bob.Public, [4]byte{2}), Source: SourceToxID})
	return mb, mb.cfg.Inbox, zoe.Public, bob.Public
}

// TestReportExpired: the report is a well-formed RFC 3464 multipart/report
// that names the mail and its recipient, in the mail's thread.
func TestReportExpired(t *testing.T) {
	mb, ib, zoe, _ := reportFixture(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	o := mesh.OutboxEntry{ID: envelope.ID{0xab, 0xcd}, To: zoe, Created: now.Add(-7*24*time.Hour).UnixMilli() + 700,
		Expiry: now.Add(-time.Second).Unix(), Size: 4096, Status: mesh.StatusExpired,
		Offered: now.Add(-7*24*time.Hour + time.Minute).UnixMilli(), Label: "<m1@alice.test> =?utf-8?q?caf=C3=A9?= plans"}
	added, err := mb.ReportExpired(o, now.Add(30*24*time.Hour), now)
	if err != nil || !added {
		t.Fatalf("ReportExpired: added %v, %v", added, err)
	}
	msgs, err := ib.List()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("inbox holds %d mails (%v), want 1", len(msgs), err)
	}
	if msgs[0].UID != inbox.EnvelopeID(ReportID(o.ID)).UID() {
		t.Errorf("the report's UID is %s, want that of ReportID", msgs[0].UID)
	}
	_, raw, err := ib.Get(msgs[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("the report has a bare LF")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"From": "Mail Delivery System <MAILER-DAEMON@alice.test>", "In-Reply-To": "<m1@alice.test>",
		"References": "<m1@alice.test>", "Auto-Submitted": "auto-replied", "Return-Path": "<>",
		"Date": "Mon, 07 Dec 2026 12:00:00 +0000", "X-Toxmail-Envelope": o.ID.String(),
	} {
		if got := m.Header.Get(field); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	if want := "Delivery not confirmed within 7 days: mail to zoë <zoe@example.org>"; subject != want {
		t.Errorf("Subject: %q, want %q", subject, want)
	}
	if cte := m.Header.Get("Content-Transfer-Encoding"); cte != "8bit" {
		t.Errorf("top-level Content-Transfer-Encoding %q, want 8bit (the text part holds UTF-8)", cte)
	}
	for _, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > 100 { // 78 is a SHOULD; a 64-hex ID and its field name need more
			t.Errorf("a line of %d characters: %q", len(l), l)
		}
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var parts []string
	var bodies []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Type"))
		bodies = append(bodies, string(b))
	}
	if len(parts) != 2 || parts[0] != "text/plain; charset=utf-8" || parts[1] != "message/delivery-status" {
		t.Fatalf("parts %q, want text/plain and message/delivery-status", parts)
	}
	for _, want := range []string{"zoë <zoe@example.org>", o.To.String(), "<m1@alice.test>", "Subject:     café plans", "Mon, 30 Nov 2026 12:00:00 +0000",
		"no acknowledgement\r\nfrom the recipient's node", "no friend took it", "It may also have arrived", "Offered:     Mon, 30 Nov 2026 12:01:00"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("the text lacks %q:\n%s", want, bodies[0])
		}
	}
	// The delivery-status part is a per-message block and a per-recipient
	// block of header fields (RFC 3464 section 2.1).
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(bodies[1])))
	perMsg, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	perRcpt, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if got := perMsg.Get("Reporting-MTA"); got != "dns; alice.test" {
		t.Errorf("Reporting-MTA: %q", got)
	}
	for field, want := range map[string]string{"Final-Recipient": "rfc822; zoe@example.org", "Action": "failed",
		"Status": "4.4.7", "Last-Attempt-Date": "Mon, 07 Dec 2026 11:59:59 +0000"} {
		if got := perRcpt.Get(field); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
}

// With ttl 1 a mail never offered says why: ttl 1 hands mail only to the
// recipient as a friend, and the recipient was never online as one (a
// review found the report blaming friends who were online all along).
func TestReportExpiredTTL1(t *testing.T) {
	for _, c := range []struct {
		ttl  uint8
		want []string
		not  string
	}{
		{1, []string{"Your ttl is 1", "with ttl 1, mail reaches only your friends", "Diagnostic-Code: X-TOXMAIL; ttl 1: never offered"}, "No friend of yours was online"},
		{4, []string{"No friend of yours was online", "Diagnostic-Code: X-TOXMAIL; never offered to a friend"}, "Your ttl is 1"},
	} {
		mb, ib, _, bob := reportFixture(t)
		mb.cfg.TTL = c.ttl
		now := time.Now()
		o := mesh.OutboxEntry{ID: envelope.ID{9}, To: bob, Created: now.Add(-time.Hour).UnixMilli(), Expiry: now.Unix(), Status: mesh.StatusExpired}
		if added, err := mb.ReportExpired(o, now.Add(time.Hour), now); !added || err != nil {
			t.Fatalf("ttl %d: added %v, %v", c.ttl, added, err)
		}
		msgs, _ := ib.List()
		_, raw, _ := ib.Get(msgs[0].UID)
		for _, want := range c.want {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("ttl %d: the report lacks %q", c.ttl, want)
			}
		}
		if bytes.Contains(raw, []byte(c.not)) {
			t.Errorf("ttl %d: the report says %q", c.ttl, c.not)
		}
	}
}

// TestReportExpiredOnce: asking again stores nothing, even after the user
// deleted the report; mail that has not expired gets no report.
func TestReportExpiredOnce(t *testing.T) {
	mb, ib, _, bob := reportFixture(t)
	now := time.Now()
	o := mesh.OutboxEntry{ID: envelope.ID{7}, To: bob, Created: now.Add(-time.Hour).UnixMilli(), Expiry: now.Unix(),
		Status: mesh.StatusExpired, Label: "(no Message-ID) <looks@like.one> but is the subject"}
	keep := now.Add(time.Hour)
	if added, err := mb.ReportExpired(o, keep, now); !added || err != nil {
		t.Fatalf("first report: added %v, %v", added, err)
	}
	if added, err := mb.ReportExpired(o, keep, now); added || err != nil {
		t.Fatalf("second report: added %v, %v; want nothing stored", added, err)
	}
	msgs, _ := ib.List()
	_, raw, _ := ib.Get(msgs[0].UID)
	for _, want := range []string{"Subject: Undelivered mail to bob@tox: not sent within 1 hour", "Final-Recipient: rfc822; bob@tox",
		"Offered:     never", "without ever leaving your node, and was not delivered", "never offered to a friend",
		"Subject:     <looks@like.one> but is the subject"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if bytes.Contains(raw, []byte("In-Reply-To")) {
		t.Error("a label that is no Message-ID went into In-Reply-To")
	}
	if err := ib.Delete(msgs[0].UID); err != nil {
		t.Fatal(err)
	}
	if added, err := mb.ReportExpired(o, keep, now); added || err != nil {
		t.Fatalf("report after deletion: added %v, %v; want nothing stored", added, err)
	}
	// A full disk refuses new reports, not ones stored before.
	mb.cfg.SpaceCheck = func() error { return errors.New("disk full") }
	if added, err := mb.ReportExpired(o, keep, now); added || err != nil {
		t.Errorf("a stored report on a full disk: added %v, %v; want nothing to do", added, err)
	}
	o2 := o
	o2.ID = envelope.ID{10}
	if _, err := mb.ReportExpired(o2, keep, now); err == nil {
		t.Error("a new report was stored on a full disk")
	}
	mb.cfg.SpaceCheck = nil
	o.ID, o.Status = envelope.ID{8}, mesh.StatusOffered
	if _, err := mb.ReportExpired(o, keep, now); err == nil {
		t.Error("mail that has not expired got a report")
	}
	if msgs, _ := ib.List(); len(msgs) != 0 {
		t.Errorf("the inbox holds %d mails, want none", len(msgs))
	}
}

// TestRecipientWords: a recipient the book does not know is named by key,
// and so is one whose name is not ASCII, in the machine-readable part.
func TestRecipientWords(t *testing.T) {
	stranger, _ := envelope.GenerateKeyPair(nil)
	nameOnly, _ := envelope.GenerateKeyPair(nil)
	book, err := NewContactBook([]Contact{{Name: "zoë", ID: NewToxID(nameOnly.Public, [4]byte{}), Source: SourceToxID}})
	if err != nil {
		t.Fatal(err)
	}
	mb := &Mailbox{cfg: MailboxConfig{Directory: book}}
	if who, rcpt := mb.recipientWords(stranger.Public); who != "Tox key "+stranger.Public.Short()+"…" || rcpt != "X-TOX; "+stranger.Public.String() {
		t.Errorf("stranger: %q, %q", who, rcpt)
	}
	if who, rcpt := mb.recipientWords(nameOnly.Public); who != "zoë@tox" || rcpt != "X-TOX; "+nameOnly.Public.String() {
		t.Errorf("zoë: %q, %q", who, rcpt)
	}
	for d, want := range map[time.Duration]string{59*time.Second + 300*time.Millisecond: "1 minute",
		90 * time.Minute: "90 minutes", 36 * time.Hour: "36 hours", 14*24*time.Hour - 400*time.Millisecond: "14 days"} {
		if got := spanWords(d); got != want {
			t.Errorf("spanWords(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestLabelText: the dashboard shows an outbox label with its Subject
// decoded, and without the marker of a mail that has no Message-ID.
func TestLabelText(t *testing.T) {
	for label, want := range map[string]string{
		"<a@b> =?utf-8?q?caf=C3=A9?=":           "<a@b> café",
		"(no Message-ID) =?utf-8?q?caf=C3=A9?=": "café",
		"<c@d> =?windows-1252?q?=93caf=E9=94?=": "<c@d> “café”",
		"<e@f> =?KOI8-R?B?8NLJ18XU?=":           "<e@f> Привет",
		"(no Message-ID) <x@y> z":               "<x@y> z",
		"<old@label>":                           "<old@label>",
		"":                                      "",
	} {
		if got := labelText(label); got != want {
			t.Errorf("labelText(%q) = %q, want %q", label, got, want)
		}
	}
}

// A full inbox still takes a report: the owner's own mail made it.
func TestReportExemptFromQuota(t *testing.T) {
	ib, err := inbox.Open(inbox.Options{InMemory: true, Quota: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	now := time.Now()
	if _, err := ib.DeliverExempt(inbox.EnvelopeID{1}, inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)}, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	mb, err := NewMailbox(MailboxConfig{Inbox: ib, Hostname: "node.local"})
	if err != nil {
		t.Fatal(err)
	}
	o := mesh.OutboxEntry{ID: envelope.ID{7}, To: envelope.PublicKey{9}, Created: now.Add(-time.Hour).UnixMilli(), Expiry: now.Unix(),
		Status: mesh.StatusExpired, Label: "(no Message-ID) hello"}
	if added, err := mb.ReportExpired(o, now.Add(time.Hour), now); !added || err != nil {
		t.Fatalf("report into a full inbox: added %v, %v; want stored", added, err)
	}
}
