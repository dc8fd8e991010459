package gateway

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// pop3TB is what the helpers need of *testing.T, *testing.B and *rapid.T.
type pop3TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// pop3MemMaildrop is an in-memory Maildrop serving its bytes as they are.
type pop3MemMaildrop struct {
	mu         sync.Mutex
	uids       []string
	data       map[string]string
	failDelete bool // Delete fails and deletes nothing
	failList   bool
	deletes    int // successful Delete calls
	next       int // UIDs handed out
}

var _ Maildrop = (*pop3MemMaildrop)(nil)

// newPOP3MemMaildrop holds msgs with UIDs "uid1", "uid2", ...
func newPOP3MemMaildrop(msgs ...string) *pop3MemMaildrop {
	md := &pop3MemMaildrop{data: make(map[string]string)}
	for _, m := range msgs {
		md.add(m)
	}
	return md
}

// add delivers one more message and returns its UID.
func (md *pop3MemMaildrop) add(msg string) string {
	md.mu.Lock()
	defer md.mu.Unlock()
	md.next++
	uid := fmt.Sprintf("uid%d", md.next)
	md.uids = append(md.uids, uid)
	md.data[uid] = msg
	return uid
}

func (md *pop3MemMaildrop) List() ([]MaildropMessage, error) {
	md.mu.Lock()
	defer md.mu.Unlock()
	if md.failList {
		return nil, errors.New("list failed")
	}
	var out []MaildropMessage
	for _, u := range md.uids {
		out = append(out, MaildropMessage{UID: u, Size: int64(len(md.data[u]))})
	}
	return out, nil
}

func (md *pop3MemMaildrop) Open(uid string) (io.ReadCloser, error) {
	md.mu.Lock()
	defer md.mu.Unlock()
	d, ok := md.data[uid]
	if !ok {
		return nil, fmt.Errorf("no message %s", uid)
	}
	return io.NopCloser(strings.NewReader(d)), nil
}

func (md *pop3MemMaildrop) Delete(uids ...string) error {
	md.mu.Lock()
	defer md.mu.Unlock()
	if md.failDelete {
		return errors.New("delete failed")
	}
	for _, u := range uids {
		if _, ok := md.data[u]; !ok {
			return fmt.Errorf("no message %s", u)
		}
	}
	for _, u := range uids {
		delete(md.data, u)
	}
	keep := md.uids[:0]
	for _, u := range md.uids {
		if _, ok := md.data[u]; ok {
			keep = append(keep, u)
		}
	}
	md.uids = keep
	md.deletes++
	return nil
}

// messages returns the stored messages in order.
func (md *pop3MemMaildrop) messages() []string {
	md.mu.Lock()
	defer md.mu.Unlock()
	var out []string
	for _, u := range md.uids {
		out = append(out, md.data[u])
	}
	return out
}

// pop3TestAuth maps user names to passwords and maildrops; it compares
// passwords in constant time.
type pop3TestAuth struct {
	mu    sync.Mutex
	users map[string]pop3TestUser
	fail  error // returned for every login when set
}

type pop3TestUser struct {
	pass string
	md   Maildrop
}

func newPOP3TestAuth() *pop3TestAuth { return &pop3TestAuth{users: make(map[string]pop3TestUser)} }

func (a *pop3TestAuth) set(user, pass string, md Maildrop) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[user] = pop3TestUser{pass, md}
}

func (a *pop3TestAuth) Authenticate(user, pass string) (Maildrop, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return nil, a.fail
	}
	u, ok := a.users[user]
	if !ok || subtle.ConstantTimeCompare([]byte(u.pass), []byte(pass)) != 1 {
		return nil, ErrPOP3BadCredentials
	}
	return u.md, nil
}

// pop3TestConfig is the configuration of test servers: no failure delay,
// an idle timeout that ends a stuck test.
func pop3TestConfig() POP3Config {
	return POP3Config{IdleTimeout: 10 * time.Second, AuthFailureDelay: -1}
}

// startPOP3 serves auth on 127.0.0.1 and closes the server at the end of
// the test, checking that Serve returned ErrPOP3ServerClosed.
func startPOP3(t testing.TB, cfg POP3Config, auth POP3Authenticator) (*POP3Server, string) {
	t.Helper()
	srv, err := NewPOP3Server(cfg, auth)
	if err != nil {
		t.Fatalf("NewPOP3Server: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-served:
			if !errors.Is(err, ErrPOP3ServerClosed) {
				t.Errorf("Serve returned %v, want ErrPOP3ServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return srv, l.Addr().String()
}

// pop3Client is a raw POP3 client that sees the exact bytes.
type pop3Client struct {
	t    pop3TB
	conn net.Conn
	r    *bufio.Reader
}

// dialPOP3Raw connects.
func dialPOP3Raw(t pop3TB, addr string) *pop3Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return &pop3Client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// dialPOP3 connects and reads the greeting.
func dialPOP3(t pop3TB, addr string) *pop3Client {
	t.Helper()
	c := dialPOP3Raw(t, addr)
	if g := c.line(); !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("greeting %q, want +OK", g)
	}
	return c
}

func (c *pop3Client) close() { c.conn.Close() }

// send writes raw bytes.
func (c *pop3Client) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// line reads one line, CRLF included.
func (c *pop3Client) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return l
}

// response reads the response to cmd exactly as sent: one line, or, for a
// positive answer to a multi-line command, every line to the ".".
func (c *pop3Client) response(cmd string) string {
	c.t.Helper()
	first := c.line()
	if !strings.HasPrefix(first, "+OK") || !pop3IsMulti(cmd) {
		return first
	}
	var b strings.Builder
	b.WriteString(first)
	for range 1 << 20 {
		l := c.line()
		b.WriteString(l)
		if l == ".\r\n" {
			return b.String()
		}
	}
	c.t.Fatalf("no end of the response to %q", cmd)
	return ""
}

// cmd sends one command and returns its response.
func (c *pop3Client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.response(line)
}

// expect sends line and fails unless the response is want.
func (c *pop3Client) expect(line, want string) {
	c.t.Helper()
	if got := c.cmd(line); got != want {
		c.t.Fatalf("%s: got %q, want %q", line, got, want)
	}
}

// login logs in with USER and PASS.
func (c *pop3Client) login(user, pass string) {
	c.t.Helper()
	c.expect("USER "+user, "+OK send your password\r\n")
	if got := c.cmd("PASS " + pass); !strings.HasPrefix(got, "+OK maildrop locked and ready") {
		c.t.Fatalf("PASS: got %q, want +OK maildrop locked and ready", got)
	}
}

// expectClosed fails unless the server closes the connection soon,
// without sending anything more.
func (c *pop3Client) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	if err == nil || l != "" {
		c.t.Fatalf("read %q, %v; want the connection closed", l, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("the server did not close the connection")
	}
}

// pop3IsMulti says whether a positive response to cmd has more lines.
func pop3IsMulti(cmd string) bool {
	f := strings.Fields(strings.ToUpper(cmd))
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "CAPA", "RETR", "TOP":
		return true
	case "LIST", "UIDL", "AUTH":
		return len(f) == 1
	}
	return false
}

// pop3Unstuff turns the body of a multi-line response back into the
// message: the first line and the terminator dropped, dots unstuffed.
func pop3Unstuff(t pop3TB, resp string) string {
	t.Helper()
	_, body, ok := strings.Cut(resp, "\r\n")
	if !ok || !strings.HasSuffix(body, ".\r\n") {
		t.Fatalf("not a multi-line response: %q", resp)
	}
	body = strings.TrimSuffix(body, ".\r\n")
	var b strings.Builder
	for _, l := range strings.SplitAfter(body, "\r\n") {
		b.WriteString(strings.TrimPrefix(l, "."))
	}
	return b.String()
}

// waitPOP3 polls f every 10 ms for at most 5 s.
func waitPOP3(t pop3TB, what string, f func() bool) {
	t.Helper()
	for range 500 {
		if f() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// tryPOP3Login reports whether user can log in now, and quits again.
func tryPOP3Login(t pop3TB, addr, user, pass string) bool {
	t.Helper()
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("USER "+user, "+OK send your password\r\n")
	ok := strings.HasPrefix(c.cmd("PASS "+pass), "+OK")
	c.cmd("QUIT")
	return ok
}
