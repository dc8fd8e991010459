package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
)

func TestSMTPEHLOAdvertises(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	lines := strings.Split(c.ehlo(), "\n")
	want := fmt.Sprintf("SIZE %d", gateway.LargestSealableBody(mesh.DefaultConfig().MaxEnvelopeSize))
	for _, ext := range []string{"AUTH PLAIN LOGIN", want, "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "PIPELINING"} {
		found := false
		for _, l := range lines {
			found = found || l == ext
		}
		if !found {
			t.Errorf("EHLO lacks %q: got %q", ext, lines)
		}
	}

	// go-smtp's client reads the same.
	cl, err := smtp.Dial(f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, size := cl.Extension("SIZE"); !ok || "SIZE "+size != want {
		t.Errorf("client sees SIZE %q, want %q", size, want)
	}
}

func TestSMTPSizeFromConfig(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxMessageBytes = 12345; c.Domain = "node.example" })
	c := dialSMTP(t, f.addr)
	if got := c.ehlo(); !strings.Contains(got, "\nSIZE 12345\n") {
		t.Errorf("EHLO: got %q, want SIZE 12345", got)
	}
}

// TestSMTPAuthFailureLimit: a connection that fails to log in
// MaxAuthFailures times is answered 421 and closed.
func TestSMTPAuthFailureLimit(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.AuthFailureDelay = time.Millisecond })
	c := dialSMTP(t, f.addr)
	c.ehlo()
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", smtpTestUser, "guess1"))
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", smtpTestUser, "guess2"))
	c.expect(421, "4.7.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, "guess3"))
	if err := c.tryCommand("AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass)); err == nil {
		t.Fatal("the connection still takes logins after the limit")
	}
}

// TestSMTPLoginFailuresShared: a failed SMTP login waits for the user
// name's recent failures on other connections, and on the POP3 server that
// shares the record, not only for its own connection's (security review:
// 64 connections guessed 125 passwords a second).
func TestSMTPLoginFailuresShared(t *testing.T) {
	const delay = 20 * time.Millisecond
	failures := &gateway.LoginFailures{}
	for range 5 { // as POP3 or other connections would
		failures.Failed(smtpTestUser, delay, time.Now())
	}
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) {
		c.AuthFailureDelay = delay
		c.Failures = failures
	})
	c := dialSMTP(t, f.addr)
	c.ehlo()
	start := time.Now()
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", smtpTestUser, "guess"))
	if got, want := time.Since(start), 16*delay; got < want {
		t.Fatalf("a failed login after 5 recent failures answered in %v, want at least %v", got, want)
	}
	c.expect(235, "2.0.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
	if got := failures.Failed(smtpTestUser, delay, time.Now()); got != delay {
		t.Errorf("after a login the next failure waits %v, want %v (the record is forgotten)", got, delay)
	}
}

// TestSMTPLoginsAtOnceRefusal: a login refused because many logins of
// the name wait their turn, none of them failed, says so; it said "too many
// failed logins", and clients reported a wrong password.
func TestSMTPLoginsAtOnceRefusal(t *testing.T) {
	const delay = time.Second
	failures := &gateway.LoginFailures{}
	for range 12 { // logins of the name on other connections, all waiting
		if _, ok := failures.Reserve(smtpTestUser, delay, time.Now()); !ok {
			break
		}
	}
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) {
		c.AuthFailureDelay = delay
		c.Failures = failures
	})
	c := dialSMTP(t, f.addr)
	c.ehlo()
	if msg := c.expect(454, "4.7.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass)); !strings.Contains(msg, "at once") {
		t.Errorf("refusal %q does not say the logins came at once", msg)
	}
	failures.Failed(smtpTestUser, delay, time.Now())
	if msg := c.expect(454, "4.7.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass)); !strings.Contains(msg, "failed logins") {
		t.Errorf("refusal %q after a failure does not say logins failed", msg)
	}
}

// TestSMTPLoginWaitDoesNotHoldShutdown: a login waiting its turn after
// many failures (up to 2 minutes) is cut short by Shutdown, which then
// ends at once (review of this change: Shutdown ran out its time).
func TestSMTPLoginWaitDoesNotHoldShutdown(t *testing.T) {
	failures := &gateway.LoginFailures{}
	for range 10 {
		failures.Failed(smtpTestUser, time.Second, time.Now()) // the next check is 30 s away
	}
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) {
		c.AuthFailureDelay = time.Second
		c.Failures = failures
	})
	c := dialSMTP(t, f.addr)
	c.ehlo()
	answered := make(chan error, 1)
	go func() { answered <- c.tryCommand("AUTH PLAIN %s", plainIR("", smtpTestUser, "guess")) }()
	time.Sleep(200 * time.Millisecond) // the login is waiting
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v after %v, want nil", err, time.Since(start))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v behind a waiting login", d)
	}
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting login was never answered or cut")
	}
}

// TestSMTPRefusedUncheckedHangsUp: guesses refused without a check (the
// user name's queue is over 2 minutes long) count as failed logins, and the
// last one closes the connection as a checked failure does (review of
// this change: it answered 421 "closing connection" and kept it open).
func TestSMTPRefusedUncheckedHangsUp(t *testing.T) {
	failures := &gateway.LoginFailures{}
	now := time.Now()
	for range 10 {
		failures.Failed(smtpTestUser, time.Second, now)
	}
	for range 5 {
		failures.Reserve(smtpTestUser, time.Second, now) // others waiting: the queue is 3 minutes long
	}
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) {
		c.AuthFailureDelay = time.Second
		c.Failures = failures
	})
	c := dialSMTP(t, f.addr)
	c.ehlo()
	c.expect(454, "4.7.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
	c.expect(454, "4.7.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
	c.expect(421, "4.7.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := c.tp.ReadLine(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the 421: read %q, %v; want the connection closed", line, err)
	}
}

// TestSMTPMaxConnections: past MaxConnections a new connection is
// answered 421 and closed, the open ones carry on, and a closed one frees
// its place.
func TestSMTPMaxConnections(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxConnections = 2 })
	a, b := dialSMTP(t, f.addr), dialSMTP(t, f.addr)
	refused, err := net.DialTimeout("tcp", f.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()
	refused.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(refused)
	code, msg, err := tp.ReadResponse(0)
	if code != 421 || !strings.HasPrefix(msg, "4.7.0") || !strings.Contains(msg, "too many connections") {
		t.Fatalf("third connection: got %d %q (%v), want 421 4.7.0 too many connections", code, msg, err)
	}
	if _, err := tp.ReadLine(); !errors.Is(err, io.EOF) {
		t.Fatalf("third connection not closed after 421: %v", err)
	}
	b.login()
	a.expect(221, "2.0.0", "QUIT")
	// The accept loop goes on; a's place is free once its close is seen.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", f.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		code, _, err := textproto.NewConn(c).ReadResponse(0)
		c.Close()
		if code == 220 {
			break
		}
		if code != 421 || i == 50 {
			t.Fatalf("after a connection closed: got %d (%v), want 220", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMTPNestedMailRefused: a second MAIL inside a transaction is refused,
// and DATA without recipients is never answered 250.
func TestSMTPNestedMailRefused(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.ehlo()
	c.expect(235, "2.0.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	c.expect(503, "5.5.1", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RSET")
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	if n := len(f.sub.recorded()); n != 0 {
		t.Fatalf("%d submissions", n)
	}
}

func TestSMTPMailBeforeAuthRefused(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.ehlo()
	c.expect(530, "5.7.0", "MAIL FROM:<alice@example.org>")
	c.expect(502, "5.5.1", "RCPT TO:<%s>", f.raw.Address()) // no transaction
	c.expect(502, "5.5.1", "DATA")
	if n := len(f.sub.recorded()); n != 0 {
		t.Fatalf("%d submissions before AUTH", n)
	}
}

func TestSMTPAuthBadPassword(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxAuthFailures = 10; c.AuthFailureDelay = -1 })
	c := dialSMTP(t, f.addr)
	c.ehlo()
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", smtpTestUser, "wrong"))
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", "mallory", smtpTestPass))            // unknown user
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("bob", smtpTestUser, smtpTestPass))      // someone else's identity
	c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass+"extra")) // close is not enough
	c.expect(504, "5.7.4", "AUTH CRAM-MD5")
	c.expect(530, "5.7.0", "MAIL FROM:<alice@example.org>")

	cl, err := smtp.Dial(f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.Auth(sasl.NewLoginClient(smtpTestUser, "wrong"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 535 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) {
		t.Fatalf("LOGIN with a wrong password: got %v, want 535 5.7.8", err)
	}
}

func TestSMTPAuthPlain(t *testing.T) {
	f := newSMTPFixture(t, nil)
	t.Run("initial response", func(t *testing.T) {
		c := dialSMTP(t, f.addr)
		c.ehlo()
		c.expect(235, "2.0.0", "AUTH PLAIN %s", plainIR(smtpTestUser, smtpTestUser, smtpTestPass))
		c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
		c.expect(503, "5.5.1", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass)) // once only
	})
	t.Run("empty challenge", func(t *testing.T) {
		c := dialSMTP(t, f.addr)
		c.ehlo()
		c.expect(334, "", "AUTH PLAIN")
		c.expect(235, "2.0.0", "%s", plainIR("", smtpTestUser, smtpTestPass))
		c.expect(250, "2.0.0", "MAIL FROM:<>")
	})
	t.Run("go-smtp client", func(t *testing.T) {
		cl, err := smtp.Dial(f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Auth(sasl.NewPlainClient("", smtpTestUser, smtpTestPass)); err != nil {
			t.Fatal(err)
		}
		if err := cl.Mail("alice@example.org", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSMTPAuthLogin(t *testing.T) {
	f := newSMTPFixture(t, nil)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	t.Run("challenges", func(t *testing.T) {
		c := dialSMTP(t, f.addr)
		c.ehlo()
		c.expect(334, b64("Username:"), "AUTH LOGIN")
		c.expect(334, b64("Password:"), "%s", b64(smtpTestUser))
		c.expect(235, "2.0.0", "%s", b64(smtpTestPass))
		c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	})
	t.Run("cancelled", func(t *testing.T) {
		c := dialSMTP(t, f.addr)
		c.ehlo()
		c.expect(334, b64("Username:"), "AUTH LOGIN")
		c.expect(501, "5.0.0", "*")
		c.expect(530, "5.7.0", "MAIL FROM:<alice@example.org>")
	})
	t.Run("go-smtp client", func(t *testing.T) { // the user name as initial response
		cl, err := smtp.Dial(f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Auth(sasl.NewLoginClient(smtpTestUser, smtpTestPass)); err != nil {
			t.Fatal(err)
		}
		if err := cl.Mail("alice@example.org", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSMTPRcpt(t *testing.T) {
	f := newSMTPFixture(t, nil)
	broken := f.raw.String()[:75] + "0" // checksum no longer matches
	if strings.HasSuffix(f.raw.String(), "0") {
		broken = f.raw.String()[:75] + "1"
	}
	tests := []struct {
		rcpt   string
		code   int
		prefix string // enhanced code and start of the reason
		reason string // the reason contains this
	}{
		{f.raw.Address(), 250, "2.0.0", ""},
		{strings.ToLower(f.raw.String()) + "@tox", 250, "2.0.0", ""},
		{"bob@example.org", 250, "2.0.0", ""},
		{"bob@Example.ORG", 250, "2.0.0", ""},
		{"dave@example.org", 250, "2.0.0", ""},
		{"nobody@example.org", 550, "5.1.1", "no tox1 DNS record at nobody._tox.example.org"},
		{broken + "@tox", 550, "5.1.1", "checksum"},
		{gateway.NewToxID(topBitKey(), [4]byte{1, 2, 3, 4}).Address(), 550, "5.1.1", "not a valid Curve25519 key"},
		{f.raw.String()[:64] + "@tox", 550, "5.1.1", "bare public key"},
		{"flaky@example.org", 451, "4.4.3", "tox1 DNS lookup of flaky._tox.example.org failed (SERVFAIL)"},
	}
	c := dialSMTP(t, f.addr)
	c.login()
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	for _, tt := range tests {
		code, msg := c.cmd("RCPT TO:<%s>", tt.rcpt)
		if code != tt.code || !strings.HasPrefix(msg, tt.prefix) || !strings.Contains(msg, tt.reason) {
			t.Errorf("RCPT TO:<%s>: got %d %q, want %d %s ...%s...", tt.rcpt, code, msg, tt.code, tt.prefix, tt.reason)
		}
	}
}

func TestSMTPMaxRecipients(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxRecipients = 2 })
	c := dialSMTP(t, f.addr)
	c.login()
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	c.expect(250, "2.0.0", "RCPT TO:<bob@example.org>")
	c.expect(452, "4.5.3", "RCPT TO:<dave@example.org>")
	if code, msg := c.data("Subject: two\r\n\r\nhi\r\n"); code != 250 {
		t.Fatalf("DATA: got %d %q", code, msg)
	}
	if calls := f.sub.recorded(); len(calls) != 1 || len(calls[0]) != 2 {
		t.Fatalf("got %d calls, want one of two envelopes", len(calls))
	}
}

// dateAndID are the fields a mail needs for the server to add none.
const dateAndID = "Date: Mon, 7 Dec 2026 10:00:00 +0100\r\nMessage-ID: <1@client.test>\r\n"

func TestSMTPDataTwoRecipients(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.TTL = 3; c.Lifetime = 48 * time.Hour })
	long := "<" + strings.Repeat("x", 300) + "@client.test>"
	body := "From: Alice <alice@example.org>\r\n" +
		"To: bob@example.org, " + f.raw.Address() + "\r\n" +
		"Date : Mon, 7 Dec 2026 10:00:00 +0100\r\n" + // with a space before the colon, still a Date
		"Message-ID:\r\n " + long + "\r\n" +
		"Subject: dots and line ends\r\n" +
		"\r\n" +
		".a line that starts with a dot\r\n" +
		".\r\n" +
		"..two dots\r\n" +
		"a bare\nLF and a bare\rCR stay as they are\r\n" +
		"\r\n" +
		"caf\xc3\xa9 8-bit\r\n"
	c := dialSMTP(t, f.addr)
	c.login()
	if code, msg := c.send(body, "bob@example.org", f.raw.Address()); code != 250 {
		t.Fatalf("DATA: got %d %q, want 250", code, msg)
	}
	calls := f.sub.recorded()
	if len(calls) != 1 {
		t.Fatalf("got %d Submit calls, want 1", len(calls))
	}
	outs := calls[0]
	if len(outs) != 2 {
		t.Fatalf("got %d envelopes, want 2", len(outs))
	}
	if outs[0].To != f.bob.PublicKey() || outs[1].To != f.raw.PublicKey() {
		t.Errorf("recipients: got %s %s, want bob then the raw ID", outs[0].To, outs[1].To)
	}
	wantLabel := long[:255]
	for i, o := range outs {
		if !bytes.Equal(o.Body, []byte(body)) {
			t.Errorf("envelope %d body:\ngot  %q\nwant %q", i, o.Body, body)
		}
		if o.Label != wantLabel {
			t.Errorf("envelope %d label: got %q, want %q", i, o.Label, wantLabel)
		}
		if o.TTL != 3 || o.Lifetime != 48*time.Hour {
			t.Errorf("envelope %d: TTL %d lifetime %v, want 3 and 48h", i, o.TTL, o.Lifetime)
		}
	}

	// The session goes on: a second mail on the same connection, with a
	// recipient named twice under two addresses of the same key.
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<bob@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", gateway.NewToxID(f.bob.PublicKey(), [4]byte{9, 9, 9, 9}).Address())
	if code, msg := c.data("Subject: no id\r\n\r\nx\r\n"); code != 250 {
		t.Fatalf("second DATA: got %d %q", code, msg)
	}
	// It had no Message-ID: the one the server gave it labels it.
	calls = f.sub.recorded()
	if len(calls) != 2 || len(calls[1]) != 1 || !strings.HasSuffix(calls[1][0].Label, "@toxmail.invalid> no id") || calls[1][0].TTL != 3 {
		t.Fatalf("second mail: got %+v, want one envelope labelled with its new Message-ID and subject", calls[1:])
	}
}

// TestSMTPBccRemoved: a Bcc field in the submitted mail is not sealed for
// any recipient, the blind one included; the blind recipient still gets
// the mail, since recipients are those of RCPT TO.
func TestSMTPBccRemoved(t *testing.T) {
	f := newSMTPFixture(t, nil)
	body := "From: alice@example.org\r\nTo: bob@example.org\r\nBcc: " + f.raw.Address() + ",\r\n secret@example.org\r\n" +
		"Subject: s\r\n" + dateAndID + "\r\nBcc: this line is the body's\r\n"
	want := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: s\r\n" + dateAndID + "\r\nBcc: this line is the body's\r\n"
	c := dialSMTP(t, f.addr)
	c.login()
	if code, msg := c.send(body, "bob@example.org", f.raw.Address()); code != 250 {
		t.Fatalf("DATA: got %d %q, want 250", code, msg)
	}
	calls := f.sub.recorded()
	if len(calls) != 1 || len(calls[0]) != 2 {
		t.Fatalf("got %+v, want one Submit of two envelopes", calls)
	}
	for i, o := range calls[0] {
		if string(o.Body) != want {
			t.Errorf("envelope %d body:\ngot  %q\nwant %q", i, o.Body, want)
		}
	}
}

func TestSMTPDataSubmitFailure(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		prefix string
	}{
		{"temporary", tempErr{errors.New("disk busy")}, 451, "4.3.0"},
		{"closed node", mesh.ErrClosed, 451, "4.3.0"},
		{"plain error", errors.New("something else"), 451, "4.3.0"},
		{"too large", fmt.Errorf("%w: 9000000 bytes seal to ...", mesh.ErrTooLarge), 552, "5.3.4"},
		{"bad mail", fmt.Errorf("%w: TTL 9 exceeds MaxHops 8", mesh.ErrBadMail), 554, "5.6.0"},
	}
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.login()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sub.setErr(tt.err)
			code, msg := c.send("Subject: x\r\n\r\nbody\r\n", f.raw.Address(), "bob@example.org")
			if code != tt.code || !strings.HasPrefix(msg, tt.prefix) {
				t.Errorf("got %d %q, want %d %s", code, msg, tt.code, tt.prefix)
			}
			if n := len(f.sub.recorded()); n != 0 {
				t.Errorf("%d submissions recorded after a failure", n)
			}
		})
	}
	// The failure ended the transaction; the next one goes through.
	f.sub.setErr(nil)
	if code, msg := c.send("Subject: x\r\n\r\nbody\r\n", f.raw.Address()); code != 250 {
		t.Fatalf("after the failures: got %d %q", code, msg)
	}
	if n := len(f.sub.recorded()); n != 1 {
		t.Fatalf("got %d submissions, want 1", n)
	}
}

// tempErr is a failure that says it is temporary, as mesh's store errors do.
type tempErr struct{ error }

func (tempErr) Temporary() bool { return true }

func TestSMTPTooLarge(t *testing.T) {
	const limit = 1000
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxMessageBytes = limit })
	body := func(n int) string { // n bytes in lines of 80, ending in CRLF
		b := []byte("Subject: size\r\n\r\n" + strings.Repeat("y", n-len("Subject: size\r\n\r\n")-2) + "\r\n")
		for i := 100; i < n-2; i += 80 {
			b[i-1], b[i] = '\r', '\n'
		}
		return string(b)
	}
	c := dialSMTP(t, f.addr)
	c.login()

	c.expect(552, "5.3.4", "MAIL FROM:<alice@example.org> SIZE=%d", limit+1)
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org> SIZE=%d", limit)
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	if code, msg := c.data(body(3 * limit)); code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Fatalf("DATA of %d bytes: got %d %q, want 552 5.3.4", 3*limit, code, msg)
	}
	// Without SIZE= too, and just over the limit: the reply says what
	// DATA takes.
	dataLimit := fmt.Sprintf("at most %d bytes by DATA (%d by BDAT)", limit-1, limit)
	if code, msg := c.send(body(limit+1), f.raw.Address()); code != 552 || !strings.HasPrefix(msg, "5.3.4") ||
		!strings.Contains(msg, dataLimit) {
		t.Fatalf("DATA of %d bytes: got %d %q, want 552 5.3.4 saying %q", limit+1, code, msg, dataLimit)
	}
	if n := len(f.sub.recorded()); n != 0 {
		t.Fatalf("%d oversize mails submitted", n)
	}
	// go-smtp's DATA reader takes at most limit-1 bytes (see
	// SMTPConfig.MaxMessageBytes); BDAT takes limit exactly. If the DATA
	// of limit bytes passes, go-smtp has fixed this: update the doc.
	if code, msg := c.send(body(limit), f.raw.Address()); code != 552 || !strings.Contains(msg, dataLimit) {
		t.Fatalf("DATA of %d bytes: got %d %q, want go-smtp's 552, saying %q", limit, code, msg, dataLimit)
	}
	if code, msg := c.send(body(limit-1), f.raw.Address()); code != 250 {
		t.Fatalf("DATA of %d bytes: got %d %q, want 250", limit-1, code, msg)
	}
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	if _, err := c.tp.W.WriteString(fmt.Sprintf("BDAT %d LAST\r\n%s", limit, body(limit))); err != nil {
		t.Fatal(err)
	}
	c.tp.W.Flush()
	if code, msg := c.reply(); code != 250 {
		t.Fatalf("BDAT of %d bytes: got %d %q, want 250", limit, code, msg)
	}
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	c.expect(552, "5.3.4", "BDAT %d LAST\r\n%s", limit+1, body(limit + 1)[:limit+1-2])
	calls := f.sub.recorded()
	if len(calls) != 2 || len(calls[0][0].Body) != limit-1 || len(calls[1][0].Body) != limit {
		t.Fatalf("got %d submissions, want bodies of %d and %d bytes", len(calls), limit-1, limit)
	}
}

// The fields the server adds stay within the transaction's bound too: a
// mail whose copies fill MaxTransactionBytes exactly is sealed as it came,
// not refused for a Date the client never asked for.
func TestSMTPHeaderFitsTransaction(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxMessageBytes, c.MaxTransactionBytes = 1000, 1900 })
	c := dialSMTP(t, f.addr)
	c.login()
	body := "Subject: two copies\r\n\r\n" + strings.Repeat("z", 950-len("Subject: two copies\r\n\r\n")-2) + "\r\n"
	if code, msg := c.send(body, f.raw.Address(), "bob@example.org"); code != 250 {
		t.Fatalf("a mail of 950 bytes to 2 recipients (1,900 of 1,900): got %d %q, want 250", code, msg)
	}
	calls := f.sub.recorded()
	if len(calls) != 1 || len(calls[0]) != 2 || string(calls[0][0].Body) != body {
		t.Fatalf("submitted %d mails; want one of 2 copies as it came", len(calls))
	}
}

// The node's own limit applies too: a mail the server let through but the
// node cannot seal is 552 as well.
func TestSMTPNodeTooLarge(t *testing.T) {
	f := newSMTPFixture(t, nil)
	f.sub.setErr(fmt.Errorf("%w: too big", mesh.ErrTooLarge))
	c := dialSMTP(t, f.addr)
	c.login()
	if code, msg := c.send("x\r\n", f.raw.Address()); code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Fatalf("got %d %q, want 552 5.3.4", code, msg)
	}
}

// plainFake is a PlainSender for the keys it lists.
type plainFake struct {
	mu    sync.Mutex
	plain map[envelope.PublicKey]bool
	sent  map[envelope.PublicKey][]byte
	err   error
}

func (p *plainFake) IsPlain(k envelope.PublicKey) bool { return p.plain[k] }

func (p *plainFake) SendMail(k envelope.PublicKey, raw []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.sent[k] = append([]byte(nil), raw...)
	return nil
}

func TestSMTPPlainSender(t *testing.T) {
	dave := resolveTestID(13) // the fixture's dave@example.org
	plain := &plainFake{sent: map[envelope.PublicKey][]byte{}, plain: map[envelope.PublicKey]bool{dave.PublicKey(): true},
		err: errors.New("friend offline")}
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.Plain = plain })
	if f.dave != dave {
		t.Fatal("fixture changed: dave is not resolveTestID(13)")
	}
	c := dialSMTP(t, f.addr)
	c.login()

	// Only a plain recipient, and SendMail fails: nothing was handed over,
	// so the client is told to try again.
	if code, msg := c.send("Subject: p\r\n\r\nhi\r\n", "dave@example.org"); code != 451 {
		t.Fatalf("plain failure: got %d %q, want 451", code, msg)
	}
	plain.mu.Lock()
	plain.err = nil
	plain.mu.Unlock()

	body := "Subject: mixed\r\n" + dateAndID + "\r\nto a mesh and a plain recipient\r\n"
	if code, msg := c.send(body, "dave@example.org", "bob@example.org"); code != 250 {
		t.Fatalf("got %d %q", code, msg)
	}
	calls := f.sub.recorded()
	if len(calls) != 1 || len(calls[0]) != 1 || calls[0][0].To != f.bob.PublicKey() {
		t.Fatalf("Submit calls: got %+v, want one envelope to bob", calls)
	}
	plain.mu.Lock()
	defer plain.mu.Unlock()
	if got := plain.sent[f.dave.PublicKey()]; string(got) != body || len(plain.sent) != 1 {
		t.Fatalf("SendMail: got %q, want dave's copy %q", got, body)
	}
}

func TestSMTPShutdownFinishesData(t *testing.T) {
	f := newSMTPFixture(t, nil)
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	f.sub.mu.Lock()
	f.sub.block, f.sub.entered = block, entered
	f.sub.mu.Unlock()

	idle := dialSMTP(t, f.addr)
	idle.login()
	busy := dialSMTP(t, f.addr)
	busy.login()

	type reply struct {
		code int
		msg  string
	}
	replied := make(chan reply, 1)
	go func() {
		// Not via t: this goroutine must not call t.Fatal.
		busy.tp.PrintfLine("MAIL FROM:<alice@example.org>")
		busy.tp.PrintfLine("RCPT TO:<%s>", f.raw.Address())
		busy.tp.PrintfLine("DATA")
		var r reply
		for range 3 {
			r.code, r.msg, _ = busy.tp.ReadResponse(0)
		}
		busy.tp.W.WriteString("Subject: last\r\n\r\nin flight\r\n.\r\n")
		busy.tp.W.Flush()
		r.code, r.msg, _ = busy.tp.ReadResponse(0)
		replied <- r
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Submit was not called")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- f.srv.Shutdown(ctx) }()

	// The idle connection is closed at once; the server accepts no more.
	idle.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(idle.conn); err != nil || !strings.HasPrefix(string(rest), "421 4.3.2 ") {
		t.Fatalf("idle connection: %q %v, want a 421 (RFC 5321 §3.8) and the connection closed by the server", rest, err)
	}
	select {
	case err := <-f.served:
		if !errors.Is(err, gateway.ErrSMTPServerClosed) {
			t.Fatalf("Serve: got %v, want ErrSMTPServerClosed", err)
		}
		f.served <- err // for the cleanup's check
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a DATA was in progress", err)
	default:
	}

	close(block)
	select {
	case r := <-replied:
		if r.code != 250 {
			t.Fatalf("in-flight DATA: got %d %q, want 250", r.code, r.msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reply to the in-flight DATA")
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if n := len(f.sub.recorded()); n != 1 {
		t.Fatalf("got %d submissions, want the in-flight one", n)
	}
	busy.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(busy.tp.R); err != nil || !strings.HasPrefix(string(rest), "421 4.3.2 ") || strings.Count(string(rest), "\r\n") != 1 {
		t.Fatalf("after the reply: %q %v, want one 421 line and the connection closed", rest, err)
	}
}

// A transaction under way when Shutdown begins (MAIL and RCPT sent, no
// DATA yet) may finish: its DATA is taken and answered 250 within the
// grace period, and only then is its connection closed. Idle sessions are
// cut at once.
func TestSMTPShutdownFinishesTransaction(t *testing.T) {
	f := newSMTPFixture(t, nil)
	idle := dialSMTP(t, f.addr)
	idle.login()
	busy := dialSMTP(t, f.addr)
	busy.login()
	busy.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	busy.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- f.srv.Shutdown(ctx) }()

	idle.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(idle.conn); err != nil || !strings.HasPrefix(string(rest), "421 4.3.2 ") {
		t.Fatalf("idle connection: %q %v, want a 421 (RFC 5321 §3.8) and the connection closed by the server", rest, err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a transaction was under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	if code, msg := busy.data("Subject: after SIGTERM\r\n\r\nstill delivered\r\n"); code != 250 {
		t.Fatalf("DATA of a transaction begun before Shutdown: got %d %q, want 250", code, msg)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the transaction ended")
	}
	if n := len(f.sub.recorded()); n != 1 {
		t.Fatalf("got %d submissions, want the one finished during Shutdown", n)
	}
	busy.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(busy.tp.R); err != nil || !strings.HasPrefix(string(rest), "421 4.3.2 ") || strings.Count(string(rest), "\r\n") != 1 {
		t.Fatalf("after the reply: %q %v, want one 421 line and the connection closed", rest, err)
	}
}

// A transaction that does not finish is cut when the grace period ends.
func TestSMTPShutdownDeadline(t *testing.T) {
	f := newSMTPFixture(t, nil)
	busy := dialSMTP(t, f.addr)
	busy.login()
	busy.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := f.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	busy.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(busy.conn); err != nil {
		t.Fatalf("the stalled transaction's connection: %v, want it closed", err)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	hash := smtpTestHash()
	ok := func(c *gateway.SMTPConfig) {}
	tests := []struct {
		name  string
		tweak func(*gateway.SMTPConfig)
		want  string // "" for valid
	}{
		{"default with a user", ok, ""},
		{"ipv6 loopback", func(c *gateway.SMTPConfig) { c.Addr = "[::1]:2525" }, ""},
		{"localhost", func(c *gateway.SMTPConfig) { c.Addr = "localhost:2525" }, ""},
		{"127.0.0.2", func(c *gateway.SMTPConfig) { c.Addr = "127.0.0.2:2525" }, ""},
		{"all interfaces", func(c *gateway.SMTPConfig) { c.Addr = ":1025" }, "not a loopback address"},
		{"0.0.0.0", func(c *gateway.SMTPConfig) { c.Addr = "0.0.0.0:1025" }, "set AllowRemote"},
		{"LAN address", func(c *gateway.SMTPConfig) { c.Addr = "192.168.1.5:1025" }, "SMTPConfig.Addr"},
		{"remote allowed", func(c *gateway.SMTPConfig) { c.Addr = "0.0.0.0:1025"; c.AllowRemote = true }, ""},
		{"no port", func(c *gateway.SMTPConfig) { c.Addr = "127.0.0.1" }, "want host:port"},
		{"no users", func(c *gateway.SMTPConfig) { c.Users = nil }, "SMTPConfig.Users is empty"},
		{"bad hash", func(c *gateway.SMTPConfig) { c.Users = map[string]string{"a": "secret"} }, `Users["a"]: not a bcrypt hash`},
		{"slow hash", func(c *gateway.SMTPConfig) {
			c.Users = map[string]string{"a": "$2a$16$VYqZ24BPC2.cpkEpHKbbp.XB5Dg9yZyn13R9v8GrdU/PxCUBCTBQO"}
		}, `Users["a"]: bcrypt cost 16 is too slow`},
		{"bad user", func(c *gateway.SMTPConfig) { c.Users = map[string]string{"a b": hash} }, "user name"},
		{"domain", func(c *gateway.SMTPConfig) { c.Domain = "two words" }, "SMTPConfig.Domain"},
		{"size", func(c *gateway.SMTPConfig) { c.MaxMessageBytes = -1 }, "SMTPConfig.MaxMessageBytes -1 out of range [1, "},
		{"size too big", func(c *gateway.SMTPConfig) { c.MaxMessageBytes = 1 << 40 }, "SMTPConfig.MaxMessageBytes"},
		{"recipients", func(c *gateway.SMTPConfig) { c.MaxRecipients = 10001 }, "SMTPConfig.MaxRecipients 10001 out of range [1, 10000]"},
		{"connections", func(c *gateway.SMTPConfig) { c.MaxConnections = -1 }, "SMTPConfig.MaxConnections -1 out of range [1, 10000]"},
		{"read timeout", func(c *gateway.SMTPConfig) { c.ReadTimeout = -time.Second }, "SMTPConfig.ReadTimeout"},
		{"write timeout", func(c *gateway.SMTPConfig) { c.WriteTimeout = 2 * time.Hour }, "SMTPConfig.WriteTimeout 2h0m0s out of range (0, 1h]"},
		{"ttl", func(c *gateway.SMTPConfig) { c.TTL = 65 }, "SMTPConfig.TTL 65 out of range [0, 64]"},
		{"lifetime", func(c *gateway.SMTPConfig) { c.Lifetime = 30 * time.Second }, "SMTPConfig.Lifetime 30s out of range"},
		{"from with a line break", func(c *gateway.SMTPConfig) { c.From = "a@tox\r\nBcc: x@y" }, "SMTPConfig.From has a line break"},
		{"from not an address", func(c *gateway.SMTPConfig) { c.From = "Alice" }, `SMTPConfig.From "Alice" is not an address`},
		{"from not ascii", func(c *gateway.SMTPConfig) { c.From = "Zoë <z@tox>" }, `is not ASCII`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := gateway.DefaultSMTPConfig()
			c.Users = map[string]string{"alice": hash}
			tt.tweak(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if _, err2 := gateway.NewSMTPServer(c, &gateway.Resolver{}, &fakeSubmitter{}); (err2 == nil) != (err == nil) {
				t.Fatalf("NewSMTPServer: got %v, Validate %v", err2, err)
			}
		})
	}
	// Zero fields take defaults.
	if err := (gateway.SMTPConfig{Users: map[string]string{"alice": hash}}).Validate(); err != nil {
		t.Fatalf("zero config with a user: %v", err)
	}
}

func TestHashPassword(t *testing.T) {
	h, err := gateway.HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")); err != nil {
		t.Fatalf("hash does not verify: %v", err)
	}
	if cost, _ := bcrypt.Cost([]byte(h)); cost != bcrypt.DefaultCost {
		t.Errorf("cost: got %d, want %d", cost, bcrypt.DefaultCost)
	}
	for _, pw := range []string{"", strings.Repeat("x", 73)} {
		if _, err := gateway.HashPassword(pw); err == nil {
			t.Errorf("HashPassword of %d bytes: got nil error", len(pw))
		}
	}
}

func TestLargestSealableBody(t *testing.T) {
	for _, limit := range []int{envelope.SealedSize(0), 4096, 100_000, mesh.DefaultConfig().MaxEnvelopeSize} {
		n := int(gateway.LargestSealableBody(limit))
		if envelope.SealedSize(n) > limit || envelope.SealedSize(n+1) <= limit {
			t.Errorf("limit %d: got %d (seals to %d; %d seals to %d)", limit, n,
				envelope.SealedSize(n), n+1, envelope.SealedSize(n+1))
		}
	}
	if got := gateway.LargestSealableBody(envelope.SealedSize(0) - 1); got != 0 {
		t.Errorf("below the smallest envelope: got %d, want 0", got)
	}
}

// The log never holds a password or a mail body, and recipients' addresses
// only at Debug level.
func TestSMTPLogDiscretion(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			var buf syncBuffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
			f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.Logger = log })
			c := dialSMTP(t, f.addr)
			c.ehlo()
			c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", smtpTestUser, "wrong-SECRET-pw"))
			// A password typed into the user field is not logged.
			c.expect(535, "5.7.8", "AUTH PLAIN %s", plainIR("", "PASSWORD-IN-USER-FIELD", "x"))
			c.expect(235, "2.0.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
			if code, _ := c.send("Subject: BODY-MARKER\r\n\r\nBODY-MARKER\r\n", "bob@example.org"); code != 250 {
				t.Fatalf("DATA: %d", code)
			}
			c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
			c.expect(550, "5.1.1", "RCPT TO:<nobody@example.org>")
			c.expect(221, "2.0.0", "QUIT")
			f.srv.Close()
			out := buf.String()
			if !strings.Contains(out, `user="(not a user)"`) || !strings.Contains(out, "user="+smtpTestUser) {
				t.Errorf("the failed logins are not logged by user name, or not as \"(not a user)\":\n%s", out)
			}
			for _, secret := range []string{"wrong-SECRET-pw", smtpTestPass, "BODY-MARKER", "PASSWORD-IN-USER-FIELD"} {
				if strings.Contains(out, secret) {
					t.Errorf("log holds %q:\n%s", secret, out)
				}
			}
			if strings.Contains(out, "bob@example.org") != (level == slog.LevelDebug) {
				t.Errorf("at %v, recipient address in the log: %v\n%s", level, !(level == slog.LevelDebug), out)
			}
			if !strings.Contains(out, "SMTP mail queued") || !strings.Contains(out, "SMTP login failed") {
				t.Errorf("log lacks the queued mail or the failed login:\n%s", out)
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSMTPServeAfterClose(t *testing.T) {
	srv, err := gateway.NewSMTPServer(gateway.SMTPConfig{Users: map[string]string{"a": smtpTestHash()}},
		&gateway.Resolver{}, &fakeSubmitter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); !errors.Is(err, gateway.ErrSMTPServerClosed) {
		t.Fatalf("Serve after Close: got %v", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("Serve left the listener open")
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
}

// A BDAT chunk cut short by the client hanging up never got a 250, so
// nothing may be submitted (go-smtp hands Data what came as if it were the
// whole chunk); a whole chunk followed at once by the hang-up still is.
func TestSMTPBDATCutShort(t *testing.T) {
	f := newSMTPFixture(t, nil)
	send := func(announce int, data string) (int, string) {
		t.Helper()
		c := dialSMTP(t, f.addr)
		c.login()
		c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
		c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
		if _, err := c.tp.W.WriteString(fmt.Sprintf("BDAT %d LAST\r\n%s", announce, data)); err != nil {
			t.Fatal(err)
		}
		c.tp.W.Flush()
		c.conn.(*net.TCPConn).CloseWrite() // the reply can still come back
		return c.reply()
	}
	part := "Subject: cut\r\n\r\nonly the first part..."
	if code, msg := send(500, part); code != 451 || !strings.HasPrefix(msg, "4.3.0") {
		t.Errorf("BDAT 500 LAST cut after %d bytes: got %d %q, want 451 4.3.0", len(part), code, msg)
	}
	if calls := f.sub.recorded(); len(calls) != 0 {
		t.Fatalf("a chunk cut short after %d of 500 bytes was submitted: %q", len(part), calls[0][0].Body)
	}
	whole := "Subject: whole\r\n" + dateAndID + "\r\nall of it\r\n"
	if code, msg := send(len(whole), whole); code != 250 {
		t.Errorf("a whole BDAT chunk, then the hang-up: got %d %q, want 250", code, msg)
	}
	if calls := f.sub.recorded(); len(calls) != 1 || string(calls[0][0].Body) != whole {
		t.Fatalf("the whole chunk: %d submissions, want 1 of %q", len(calls), whole)
	}
}

// A mail without a Date or a Message-ID gets them before its header (the
// date in UTC, the ID unique and at a domain that names no machine); one that has
// them, in any case or spelling RFC 5322 allows, is sealed as it came;
// fields in the body do not count; a mail the fields would push past the
// size limit is sealed as it came rather than refused.
func TestSMTPHeaderCompleted(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxMessageBytes = 300 })
	c := dialSMTP(t, f.addr)
	c.login()
	submitted := func(body string) string {
		t.Helper()
		if code, msg := c.send(body, "bob@example.org"); code != 250 {
			t.Fatalf("DATA %q: got %d %q", body, code, msg)
		}
		calls := f.sub.recorded()
		return string(calls[len(calls)-1][0].Body)
	}
	var ids []string
	for range 2 {
		before := time.Now().UTC().Truncate(time.Second)
		body := "Subject: bare\r\n\r\nDate: in the body\r\nMessage-ID: <body@x>\r\n"
		got := submitted(body)
		msg, err := mail.ReadMessage(strings.NewReader(got))
		if err != nil || !strings.HasSuffix(got, body) {
			t.Fatalf("completed mail %q: %v", got, err)
		}
		date, err := msg.Header.Date()
		if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) || !strings.HasSuffix(msg.Header.Get("Date"), "+0000") {
			t.Errorf("added Date %q: %v, %v; want now, in UTC", msg.Header.Get("Date"), date, err)
		}
		id := msg.Header.Get("Message-ID")
		if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@toxmail.invalid>") || len(id) < 40 {
			t.Errorf("added Message-ID %q", id)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Errorf("two mails got the same Message-ID %s", ids[0])
	}
	for _, body := range []string{
		"date: Mon, 7 Dec 2026 10:00:00 +0100\r\nMESSAGE-ID: <2@client.test>\r\n\r\nx\r\n",
		"Date\t: Mon, 7 Dec 2026 10:00:00 +0100\nMessage-Id: <3@client.test>\n\nlone LF line ends\r\n",
	} {
		if got := submitted(body); got != body {
			t.Errorf("a complete mail changed:\ngot  %q\nwant %q", got, body)
		}
	}
	// Only a Message-ID is missing: only it is added.
	if got := submitted("Date: Mon, 7 Dec 2026 10:00:00 +0100\r\n\r\nx\r\n"); strings.Count(got, "Date:") != 1 || !strings.HasPrefix(got, "Message-ID: <") {
		t.Errorf("a mail with a Date: %q", got)
	}
	// A mail with no header is all body: an empty line follows the fields.
	for _, text := range []string{"just text: no header\r\n", " indented\r\nFrom: x@y\r\n", "x y: z\r\n"} {
		got := submitted(text)
		if i := strings.Index(got, "\r\n\r\n"); i < 0 || got[i+4:] != text || !strings.HasPrefix(got, "Date: ") {
			t.Errorf("a mail without a header became %q", got)
		}
	}
	// A saved mail (git format-patch's) starts with an mbox "From " line:
	// it goes, and the header after it stays a header. "From :", a From
	// field with white space before its colon, is no such line.
	patch := "From: Alice <alice@example.org>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0100\r\nSubject: [PATCH] x\r\n\r\ndiff\r\n"
	if got := submitted("From 0123abc Mon Sep 17 00:00:00 2001\r\n" + patch); !strings.HasPrefix(got, "Message-ID: <") || !strings.HasSuffix(got, ">\r\n"+patch) {
		t.Errorf("a mail after an mbox From line became %q", got)
	}
	obs := "From : alice@example.org\r\n" + dateAndID + "\r\nx\r\n"
	if got := submitted(obs); got != obs {
		t.Errorf("a From field with a space before its colon became %q", got)
	}
	// 250 bytes fit the 300-byte limit with a Date (39 bytes), not with a
	// Message-ID as well: it gets what fits, in order.
	big := "Subject: big\r\n\r\n" + strings.Repeat("y", 232) + "\r\n"
	if got := submitted(big); !strings.HasPrefix(got, "Date: ") || !strings.HasSuffix(got, "\r\n"+big) || len(got) != 289 {
		t.Errorf("a mail near the limit: got %q, want it with a Date only", got)
	}
	// At the most DATA takes (299 bytes), nothing fits: it goes as it came.
	full := "Subject: full\r\n\r\n" + strings.Repeat("y", 280) + "\r\n"
	if got := submitted(full); got != full {
		t.Errorf("a mail at the limit: got %d bytes, want it as it came (%d)", len(got), len(full))
	}
}
