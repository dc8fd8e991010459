package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
)

const (
	smtpTestUser = "alice"
	smtpTestPass = "correct horse battery"
)

// smtpTestHash is the test user's password hash at bcrypt's lowest cost,
// so that tests (under -race too) do not spend their time in bcrypt.
var smtpTestHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(smtpTestPass), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// fakeSubmitter records Submit calls; err, if set, fails them; block, if
// set, makes Submit wait for it (entered is signalled first).
type fakeSubmitter struct {
	mu      sync.Mutex
	calls   [][]mesh.Outgoing
	err     error
	block   chan struct{}
	entered chan struct{}
}

var _ gateway.Submitter = (*fakeSubmitter)(nil)

func (f *fakeSubmitter) Submit(msgs ...mesh.Outgoing) ([]envelope.ID, error) {
	f.mu.Lock()
	block, entered, err := f.block, f.entered, f.err
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		<-block
	}
	if err != nil {
		return nil, err
	}
	cp := make([]mesh.Outgoing, len(msgs))
	ids := make([]envelope.ID, len(msgs))
	for i, m := range msgs {
		m.Body = append([]byte(nil), m.Body...)
		cp[i] = m
		ids[i] = envelope.ID(sha256.Sum256(append(m.To[:], m.Body...)))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cp)
	return ids, nil
}

func (f *fakeSubmitter) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSubmitter) recorded() [][]mesh.Outgoing {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]mesh.Outgoing(nil), f.calls...)
}

// smtpFixture is an SMTPServer on 127.0.0.1 with a fake Submitter and a
// Resolver over an address book and a fake tox1 DNS:
//
//	bob@example.org   address book
//	dave@example.org  tox1 DNS record
//	flaky@example.org tox1 DNS server failure (temporary)
//	anything else     NXDOMAIN
type smtpFixture struct {
	srv       *gateway.SMTPServer
	addr      string
	sub       *fakeSubmitter
	cfg       gateway.SMTPConfig
	raw       gateway.ToxID // a raw "<id>@tox" recipient
	bob, dave gateway.ToxID
	served    chan error
}

func newSMTPFixture(t testing.TB, tweak func(*gateway.SMTPConfig)) *smtpFixture {
	t.Helper()
	f := &smtpFixture{
		sub: &fakeSubmitter{}, raw: resolveTestID(11), bob: resolveTestID(12), dave: resolveTestID(13),
		served: make(chan error, 1),
	}
	book := newTestBook(t, gateway.Contact{Name: "bob", Address: "bob@example.org", ID: f.bob})
	dave := f.dave
	dns := gateway.TXTResolverFunc(func(ctx context.Context, name string) ([]gateway.TXT, error) {
		switch strings.TrimSuffix(name, ".") {
		case "dave._tox.example.org":
			return []gateway.TXT{{Text: "v=tox1;id=" + dave.String(), TTL: time.Hour}}, nil
		case "flaky._tox.example.org":
			return nil, &gateway.DNSError{Name: name, Server: "127.0.0.1:53", Reason: "SERVFAIL"}
		}
		return nil, &gateway.DNSError{Name: name, Server: "127.0.0.1:53", Reason: "NXDOMAIN", NotFound: true}
	})
	cfg := gateway.SMTPConfig{
		Users:       map[string]string{smtpTestUser: smtpTestHash()},
		ReadTimeout: 20 * time.Second, WriteTimeout: 20 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	f.cfg = cfg
	srv, err := gateway.NewSMTPServer(cfg, &gateway.Resolver{Contacts: book, DNS: dns}, f.sub)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	go func() { f.served <- srv.Serve(l) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-f.served:
			if !errors.Is(err, gateway.ErrSMTPServerClosed) {
				t.Errorf("Serve returned %v, want ErrSMTPServerClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return f
}

// rawSMTP is a client that speaks SMTP line by line, to see exact replies.
type rawSMTP struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func dialSMTP(t testing.TB, addr string) *rawSMTP {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &rawSMTP{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { c.conn.Close() })
	if code, msg, err := c.tp.ReadResponse(0); err != nil || code != 220 {
		t.Fatalf("greeting: %d %q %v", code, msg, err)
	}
	return c
}

// cmd sends one command line and returns the reply (lines joined by "\n").
func (c *rawSMTP) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		c.t.Fatalf("sending %q: %v", format, err)
	}
	return c.reply()
}

func (c *rawSMTP) reply() (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("reading reply: %v", err)
	}
	return code, msg
}

// expect sends a command and fails unless the reply has code and starts
// with prefix (the enhanced status code, typically).
func (c *rawSMTP) expect(code int, prefix, format string, args ...any) string {
	c.t.Helper()
	got, msg := c.cmd(format, args...)
	if got != code || !strings.HasPrefix(msg, prefix) {
		c.t.Fatalf("%q: got %d %q, want %d %q...", strings.Fields(format)[0], got, msg, code, prefix)
	}
	return msg
}

func (c *rawSMTP) ehlo() string {
	c.t.Helper()
	return c.expect(250, "", "EHLO client.test")
}

func (c *rawSMTP) login() {
	c.t.Helper()
	c.ehlo()
	c.expect(235, "2.0.0", "AUTH PLAIN %s", plainIR("", smtpTestUser, smtpTestPass))
}

func plainIR(identity, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + user + "\x00" + pass))
}

// data sends DATA and the body, dot-stuffed, and returns the final reply.
func (c *rawSMTP) data(body string) (int, string) {
	c.t.Helper()
	if code, msg := c.cmd("DATA"); code != 354 {
		c.t.Fatalf("DATA: got %d %q, want 354", code, msg)
	}
	if _, err := c.tp.W.WriteString(dotStuff(body) + ".\r\n"); err != nil {
		c.t.Fatal(err)
	}
	if err := c.tp.W.Flush(); err != nil {
		c.t.Fatal(err)
	}
	return c.reply()
}

// dotStuff doubles a dot that starts a line (after CRLF, RFC 5321 §4.5.2)
// and ends the body with CRLF if it does not.
func dotStuff(body string) string {
	var b strings.Builder
	lineStart := true
	for i := 0; i < len(body); i++ {
		if lineStart && body[i] == '.' {
			b.WriteByte('.')
		}
		b.WriteByte(body[i])
		lineStart = body[i] == '\n' && i > 0 && body[i-1] == '\r'
	}
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
	return b.String()
}

// send runs one transaction to the recipients and returns DATA's reply.
func (c *rawSMTP) send(body string, rcpts ...string) (int, string) {
	c.t.Helper()
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	for _, r := range rcpts {
		c.expect(250, "2.0.0", "RCPT TO:<%s>", r)
	}
	return c.data(body)
}

// tryCommand sends a command and reads a reply within 5 s; it returns an
// error for a closed connection or a reply that is not 2xx.
func (c *rawSMTP) tryCommand(format string, args ...any) error {
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.conn.SetDeadline(time.Time{})
	if err := c.tp.PrintfLine(format, args...); err != nil {
		return err
	}
	code, msg, err := c.tp.ReadResponse(0)
	if err == nil && code/100 != 2 {
		err = fmt.Errorf("%d %s", code, msg)
	}
	return err
}
