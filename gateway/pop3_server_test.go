package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPOP3ConfigValidate(t *testing.T) {
	if err := (POP3Config{}).Validate(); err != nil {
		t.Fatalf("zero POP3Config: %v", err)
	}
	if err := DefaultPOP3Config().Validate(); err != nil {
		t.Fatalf("DefaultPOP3Config: %v", err)
	}
	if err := (POP3Config{Addr: "192.0.2.1:110", AllowRemote: true}).Validate(); err != nil {
		t.Fatalf("a remote address with AllowRemote: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*POP3Config)
		field string
	}{
		{"address", func(c *POP3Config) { c.Addr = "localhost" }, "Addr"},
		{"not loopback", func(c *POP3Config) { c.Addr = "0.0.0.0:1110" }, "Addr"},
		{"no host", func(c *POP3Config) { c.Addr = ":1110" }, "Addr"},
		{"negative idle", func(c *POP3Config) { c.IdleTimeout = -time.Second }, "IdleTimeout"},
		{"idle too long", func(c *POP3Config) { c.IdleTimeout = 25 * time.Hour }, "IdleTimeout"},
		{"bad commands", func(c *POP3Config) { c.MaxBadCommands = -1 }, "MaxBadCommands"},
		{"auth failures", func(c *POP3Config) { c.MaxAuthFailures = 101 }, "MaxAuthFailures"},
		{"failure delay", func(c *POP3Config) { c.AuthFailureDelay = time.Hour }, "AuthFailureDelay"},
		{"short lines", func(c *POP3Config) { c.MaxLineLength = 100 }, "MaxLineLength"},
		{"long lines", func(c *POP3Config) { c.MaxLineLength = 1 << 20 }, "MaxLineLength"},
		{"connections", func(c *POP3Config) { c.MaxConnections = -5 }, "MaxConnections"},
		{"greeting", func(c *POP3Config) { c.Greeting = "hi\r\n+OK" }, "Greeting"},
		{"implementation", func(c *POP3Config) { c.Implementation = strings.Repeat("x", 201) }, "Implementation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := POP3Config{}
			tt.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), "POP3Config."+tt.field) {
				t.Fatalf("Validate: got %v, want an error naming %s", err, tt.field)
			}
			if _, err := NewPOP3Server(cfg, newPOP3TestAuth()); err == nil {
				t.Fatalf("NewPOP3Server accepted %s", tt.field)
			}
		})
	}
	if _, err := NewPOP3Server(POP3Config{}, nil); err == nil {
		t.Fatalf("NewPOP3Server accepted a nil authenticator")
	}
}

// TestPOP3AuthFailureLimit: the third failed login closes the connection.
func TestPOP3AuthFailureLimit(t *testing.T) {
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", newPOP3MemMaildrop())
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	for range 2 {
		c.expect("USER alice", "+OK send your password\r\n")
		c.expect("PASS guess", "-ERR [AUTH] invalid user name or password\r\n")
	}
	c.expect("USER alice", "+OK send your password\r\n")
	c.expect("PASS guess", "-ERR [AUTH] invalid user name or password; too many failures, closing connection\r\n")
	c.expectClosed()
}

// TestPOP3AuthFailureDelay: a failed login is answered no sooner than the
// delay, which doubles for the next failure of the same user.
func TestPOP3AuthFailureDelay(t *testing.T) {
	const delay = 40 * time.Millisecond
	cfg := pop3TestConfig()
	cfg.AuthFailureDelay = delay
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", newPOP3MemMaildrop())
	_, addr := startPOP3(t, cfg, auth)
	c := dialPOP3(t, addr)
	defer c.close()
	for i, want := range []time.Duration{delay, 2 * delay} {
		c.expect("USER alice", "+OK send your password\r\n")
		start := time.Now()
		c.expect("PASS guess", "-ERR [AUTH] invalid user name or password\r\n")
		if got := time.Since(start); got < want {
			t.Fatalf("failure %d answered after %v, want at least %v", i+1, got, want)
		}
	}
	c.login("alice", "secret") // success is never delayed, and forgets the failures
}

func TestPOP3BadCommandLimit(t *testing.T) {
	cfg := pop3TestConfig()
	cfg.MaxBadCommands = 3
	_, addr := startPOP3(t, cfg, newPOP3TestAuth())
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("FOO", "-ERR unknown command \"FOO\"\r\n")
	c.expect("STAT", "-ERR STAT not valid before login\r\n")
	c.expect("CAPA", "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION toxmail\r\n.\r\n")
	c.expect("BAR", "-ERR unknown command \"BAR\"; too many bad commands, closing connection\r\n")
	c.expectClosed()
}

func TestPOP3LongLine(t *testing.T) {
	auth := newPOP3TestAuth()
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("USER alice", "+OK send your password\r\n")
	// 255 octets with CRLF: accepted (and a wrong password).
	c.expect("PASS "+strings.Repeat("p", 248), "-ERR [AUTH] invalid user name or password\r\n")
	// 256: refused, and the rest of the line is not taken for commands.
	c.expect("USER "+strings.Repeat("u", 249), "-ERR line too long\r\n")
	c.expect(strings.Repeat("NOOP ", 10000), "-ERR line too long\r\n")
	c.expect("QUIT", "+OK signing off\r\n")
	c.expectClosed()
}

// TestPOP3Junk: binary junk is answered, never crashes the session, and
// an endless line closes it.
func TestPOP3Junk(t *testing.T) {
	_, addr := startPOP3(t, pop3TestConfig(), newPOP3TestAuth())
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("\x16\x03\x01\x00\xa5\x01", "-ERR invalid character '\\x16' in command\r\n")
	c.expect("\xff\xfe\xfd", "-ERR unknown command \"\\xff\\xfe\\xfd\"\r\n")
	c.expect("NOOP\r", "-ERR invalid character '\\r' in command\r\n")

	junk := make([]byte, 64<<10)
	for i := range junk {
		junk[i] = 'x'
	}
	go func() {
		for range 40 { // 2.5 MiB without a line end
			if _, err := c.conn.Write(junk); err != nil {
				return
			}
		}
	}()
	if got, want := c.line(), "-ERR line too long, closing connection\r\n"; got != want {
		t.Fatalf("endless line: got %q, want %q", got, want)
	}
	c.expectClosed()
}

func TestPOP3IdleTimeout(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	cfg := pop3TestConfig()
	cfg.IdleTimeout = 200 * time.Millisecond
	_, addr := startPOP3(t, cfg, auth)

	// RFC 1939 section 3: the server closes the connection without a
	// response, which an idle client would read as its next command's.
	c := dialPOP3(t, addr)
	defer c.close()
	c.expectClosed()

	// In TRANSACTION: the timeout is not a QUIT, nothing is deleted.
	c = dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expectClosed()
	waitPOP3(t, "the maildrop lock to go", func() bool { return tryPOP3Login(t, addr, "alice", "secret") })
	if got := md.messages(); len(got) != 1 {
		t.Fatalf("%d messages after autologout, want 1", len(got))
	}
}

// TestPOP3InUse: one session per maildrop; the lock goes with the session.
func TestPOP3InUse(t *testing.T) {
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", newPOP3MemMaildrop(pop3Msg1))
	auth.set("carol", "other", newPOP3MemMaildrop())
	_, addr := startPOP3(t, pop3TestConfig(), auth)

	a := dialPOP3(t, addr)
	defer a.close()
	a.login("alice", "secret")

	b := dialPOP3(t, addr)
	defer b.close()
	b.expect("USER alice", "+OK send your password\r\n")
	b.expect("PASS secret", "-ERR [IN-USE] maildrop already locked\r\n")
	// The lock is only seen with the right password.
	b.expect("USER alice", "+OK send your password\r\n")
	b.expect("PASS wrong", "-ERR [AUTH] invalid user name or password\r\n")
	b.login("carol", "other") // another maildrop is not locked

	a.expect("QUIT", "+OK signing off (1 message left)\r\n")
	a.expectClosed()
	waitPOP3(t, "the maildrop lock to go", func() bool { return tryPOP3Login(t, addr, "alice", "secret") })
}

// TestPOP3SharedLock: user names reaching one SharedMaildrop share its lock.
func TestPOP3SharedLock(t *testing.T) {
	md := &pop3SharedMem{pop3MemMaildrop: newPOP3MemMaildrop(pop3Msg1), key: "box"}
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	auth.set("alias", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	a := dialPOP3(t, addr)
	defer a.close()
	a.login("alice", "secret")
	b := dialPOP3(t, addr)
	defer b.close()
	b.expect("USER alias", "+OK send your password\r\n")
	b.expect("PASS secret", "-ERR [IN-USE] maildrop already locked\r\n")
}

type pop3SharedMem struct {
	*pop3MemMaildrop
	key string
}

func (m *pop3SharedMem) LockKey() string { return m.key }

// TestPOP3Pipelining: commands in one write, responses in order.
func TestPOP3Pipelining(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1, pop3Msg2)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	n1, n2 := len(pop3Msg1), len(pop3Msg2)
	steps := []pop3Step{
		{"CAPA", "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION toxmail\r\n.\r\n"},
		{"USER alice", "+OK send your password\r\n"},
		{"PASS secret", fmt.Sprintf("+OK maildrop locked and ready, 2 messages (%d octets)\r\n", n1+n2)},
		{"STAT", fmt.Sprintf("+OK 2 %d\r\n", n1+n2)},
		{"LIST", fmt.Sprintf("+OK 2 messages (%d octets)\r\n1 %d\r\n2 %d\r\n.\r\n", n1+n2, n1, n2)},
		{"RETR 2", fmt.Sprintf("+OK %d octets\r\n%s.\r\n", n2, pop3Msg2Wire)},
		{"BOGUS", "-ERR unknown command \"BOGUS\"\r\n"},
		{"DELE 1", "+OK message 1 deleted\r\n"},
		{"RETR 1", "-ERR message 1 already deleted\r\n"},
		{"UIDL", "+OK unique-id listing follows\r\n2 uid2\r\n.\r\n"},
		{"QUIT", "+OK signing off (1 message left)\r\n"},
	}
	var all strings.Builder
	for _, s := range steps {
		all.WriteString(s.send + "\r\n")
	}
	c.send(all.String())
	for _, s := range steps {
		if got := c.response(s.send); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.send, got, s.want)
		}
	}
	c.expectClosed()
	if got := md.messages(); len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
}

// TestPOP3Snapshot: mail delivered during a session shows in the next.
func TestPOP3Snapshot(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	c.login("alice", "secret")
	md.add(pop3Msg3)
	c.expect("STAT", fmt.Sprintf("+OK 1 %d\r\n", len(pop3Msg1)))
	c.expect("LIST 2", "-ERR no such message, only 1 message in maildrop\r\n")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("QUIT", "+OK signing off (maildrop empty)\r\n")
	c.close()

	c = dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	c.expect("UIDL", "+OK unique-id listing follows\r\n1 uid2\r\n.\r\n")
}

func TestPOP3MaxConnections(t *testing.T) {
	cfg := pop3TestConfig()
	cfg.MaxConnections = 1
	_, addr := startPOP3(t, cfg, newPOP3TestAuth())
	a := dialPOP3(t, addr)
	defer a.close()
	b := dialPOP3Raw(t, addr)
	defer b.close()
	if got, want := b.line(), "-ERR [SYS/TEMP] too many connections\r\n"; got != want {
		t.Fatalf("second connection: got %q, want %q", got, want)
	}
	b.expectClosed()
	a.expect("QUIT", "+OK signing off\r\n")
	a.expectClosed()
	waitPOP3(t, "a free connection", func() bool {
		c := dialPOP3Raw(t, addr)
		defer c.close()
		return strings.HasPrefix(c.line(), "+OK")
	})
}

// TestPOP3ClientGoneMidRetr: a client that leaves in the middle of a large
// message ends the session; nothing is deleted and the lock goes.
func TestPOP3ClientGoneMidRetr(t *testing.T) {
	big := strings.Repeat(".a line that needs stuffing\r\n", 200_000) // 5.6 MB
	md := newPOP3MemMaildrop(big)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	c.login("alice", "secret")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("RSET", fmt.Sprintf("+OK maildrop has 1 message (%d octets)\r\n", len(big)))
	c.send("RETR 1\r\n")
	if got, want := c.line(), fmt.Sprintf("+OK %d octets\r\n", len(big)); got != want {
		t.Fatalf("RETR: got %q, want %q", got, want)
	}
	c.line()
	c.close()
	waitPOP3(t, "the maildrop lock to go", func() bool { return tryPOP3Login(t, addr, "alice", "secret") })
	if len(md.messages()) != 1 {
		t.Fatalf("the message is gone")
	}
}

// TestPOP3Shutdown: a session that has not logged in is closed at once,
// a message being sent is finished, a logged-in session goes on to its
// QUIT, which commits its deletions, and Serve returns.
func TestPOP3Shutdown(t *testing.T) {
	big := strings.Repeat("x", 4<<20) + "\r\n"
	md := newPOP3MemMaildrop(pop3Msg1)
	mdBig := newPOP3MemMaildrop(big)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	auth.set("bob", "secret", mdBig)
	srv, err := NewPOP3Server(pop3TestConfig(), auth)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	addr := l.Addr().String()
	waitPOP3(t, "Addr", func() bool { return srv.Addr() != nil })
	if got := srv.Addr().String(); got != addr {
		t.Fatalf("Addr() = %s, want %s", got, addr)
	}

	idle := dialPOP3(t, addr)
	defer idle.close()
	txn := dialPOP3(t, addr)
	defer txn.close()
	txn.login("alice", "secret")
	txn.expect("DELE 1", "+OK message 1 deleted\r\n")

	busy := dialPOP3(t, addr)
	defer busy.close()
	busy.login("bob", "secret")
	busy.send("RETR 1\r\n")
	if got := busy.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("RETR: %q", got)
	}
	// The server is now blocked writing to busy, which reads nothing yet.

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()

	idle.expectClosed()
	// The logged-in session is still served; its QUIT commits.
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while sessions were logged in", err)
	case <-time.After(100 * time.Millisecond):
	}
	txn.expect("NOOP", "+OK\r\n")
	txn.send("QUIT\r\n")
	if got := txn.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("QUIT during Shutdown: %q", got)
	}
	txn.expectClosed()
	want := big + ".\r\n"
	rest := make([]byte, len(want))
	if _, err := io.ReadFull(busy.r, rest); err != nil {
		t.Fatalf("reading the rest of RETR: %v", err)
	}
	if string(rest) != want {
		t.Fatalf("RETR during Shutdown: got %d bytes, not the message", len(rest))
	}
	busy.expect("QUIT", "+OK signing off (1 message left)\r\n")
	busy.expectClosed()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Shutdown did not return")
	}
	if err := <-served; !errors.Is(err, ErrPOP3ServerClosed) {
		t.Fatalf("Serve: %v, want ErrPOP3ServerClosed", err)
	}
	if n := len(md.messages()); n != 0 {
		t.Fatalf("the QUIT during Shutdown left %d messages, want its deletion committed", n)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatalf("still accepting after Shutdown")
	}
	if err := srv.Serve(l); !errors.Is(err, ErrPOP3ServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// TestPOP3Close: Close ends every session at once and returns.
func TestPOP3Close(t *testing.T) {
	big := strings.Repeat("y", 8<<20) + "\r\n"
	auth := newPOP3TestAuth()
	auth.set("bob", "secret", newPOP3MemMaildrop(big))
	srv, addr := startPOP3(t, pop3TestConfig(), auth)
	busy := dialPOP3(t, addr)
	defer busy.close()
	busy.login("bob", "secret")
	busy.send("RETR 1\r\n")
	busy.line()
	idle := dialPOP3(t, addr)
	defer idle.close()

	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Close did not return")
	}
	idle.expectClosed()
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestPOP3ShutdownDeadlineNoQuit: a logged-in session that never sends
// QUIT is cut when Shutdown gives up, and its deletions are not committed.
func TestPOP3ShutdownDeadlineNoQuit(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	srv, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	c.expectClosed()
	if len(md.messages()) != 1 {
		t.Fatalf("a session cut by the deadline had its deletion committed")
	}
}

// TestPOP3ShutdownDeadline: Shutdown gives up on a session that never
// finishes its command, closes it and reports the context's error.
func TestPOP3ShutdownDeadline(t *testing.T) {
	big := strings.Repeat("z", 8<<20) + "\r\n"
	auth := newPOP3TestAuth()
	auth.set("bob", "secret", newPOP3MemMaildrop(big))
	srv, addr := startPOP3(t, pop3TestConfig(), auth)
	busy := dialPOP3(t, addr)
	defer busy.close()
	busy.login("bob", "secret")
	busy.send("RETR 1\r\n")
	busy.line() // and then read nothing more

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
}

// TestPOP3PartialLine: a reply is not held back waiting for the rest of a
// command that has only partly arrived.
func TestPOP3PartialLine(t *testing.T) {
	_, addr := startPOP3(t, pop3TestConfig(), newPOP3TestAuth())
	c := dialPOP3(t, addr)
	defer c.close()
	c.send("CAPA\r\nQU")
	if got := c.response("CAPA"); !strings.HasSuffix(got, "IMPLEMENTATION toxmail\r\n.\r\n") {
		t.Fatalf("CAPA: got %q", got)
	}
	c.send("IT\r\n")
	if got, want := c.line(), "+OK signing off\r\n"; got != want {
		t.Fatalf("QUIT: got %q, want %q", got, want)
	}
	c.expectClosed()
}

// TestPOP3LoginsAtOnceRefusal: a login refused because many logins of the
// name wait their turn, none of them failed, says so, not "failed logins".
func TestPOP3LoginsAtOnceRefusal(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	cfg := pop3TestConfig()
	cfg.AuthFailureDelay = time.Second
	cfg.Failures = &LoginFailures{}
	for range 12 { // logins of the name on other connections, all waiting
		if _, ok := cfg.Failures.Reserve("alice", cfg.AuthFailureDelay, time.Now()); !ok {
			break
		}
	}
	_, addr := startPOP3(t, cfg, auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("USER alice", "+OK send your password\r\n")
	c.expect("PASS secret", "-ERR [SYS/TEMP] too many logins for this user name at once, try again in a minute\r\n")
}

// A failed login is logged by user name only when the name is a user's:
// one that is not may be a password typed into the user field.
func TestPOP3FailedLoginLogName(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", newPOP3MemMaildrop(pop3Msg1))
	cfg := pop3TestConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	cfg.KnownUser = func(name string) bool { return name == "alice" }
	_, addr := startPOP3(t, cfg, auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("USER alice", "+OK send your password\r\n")
	if got := c.cmd("PASS wrong"); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Fatalf("PASS wrong: %q", got)
	}
	c.expect("USER PASSWORD-IN-USER-FIELD", "+OK send your password\r\n")
	if got := c.cmd("PASS x"); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Fatalf("PASS x: %q", got)
	}
	c.close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if strings.Contains(out, "PASSWORD-IN-USER-FIELD") || !strings.Contains(out, `user="(not a user)"`) || !strings.Contains(out, "user=alice") {
		t.Errorf("log of the failed logins:\n%s", out)
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
