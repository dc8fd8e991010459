package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/toxmail/toxmail/internal/plural"
)

// pop3State is the state of a session (RFC 1939 section 3).
type pop3State int

const (
	pop3Authorization pop3State = iota
	pop3Transaction
	pop3Update
)

// pop3Msg is one message of the session's snapshot of the maildrop.
type pop3Msg struct {
	uid     string
	size    int64
	deleted bool
}

// pop3Session is one POP3 connection. Its goroutine owns everything but
// idle, stopping and loggedIn, which Shutdown reads and writes under mu.
type pop3Session struct {
	srv  *POP3Server
	cfg  *POP3Config
	conn net.Conn
	cw   *pop3ConnWriter
	r    *bufio.Reader
	w    *bufio.Writer
	log  *slog.Logger

	state     pop3State
	user      string // given by USER, waiting for PASS
	haveUser  bool
	bad       int // bad commands so far
	authFails int

	// In TRANSACTION.
	md      Maildrop
	lockKey string
	msgs    []pop3Msg
	body    *bufio.Reader // reused to stream messages

	mu       sync.Mutex
	idle     bool // waiting for a command
	stopping bool // Shutdown: end after the current command, unless loggedIn
	loggedIn bool // in TRANSACTION: Shutdown lets it run to its QUIT
}

const (
	pop3ReadBuffer  = 4 << 10
	pop3WriteBuffer = 32 << 10
	pop3BodyBuffer  = 32 << 10
	pop3MaxJunk     = 1 << 20          // octets of an over-long line discarded before giving up
	pop3FinalWrite  = 10 * time.Second // at most, for the last reply of a session
)

var (
	errPOP3LineTooLong = errors.New("line too long")
	errPOP3Junk        = errors.New("line far too long")
	errPOP3Stopping    = errors.New("server shutting down")
)

func newPOP3Session(srv *POP3Server, conn net.Conn) *pop3Session {
	cw := &pop3ConnWriter{conn: conn, timeout: srv.cfg.IdleTimeout}
	return &pop3Session{
		srv:  srv,
		cfg:  &srv.cfg,
		conn: conn,
		cw:   cw,
		r:    bufio.NewReaderSize(conn, max(pop3ReadBuffer, srv.cfg.MaxLineLength)),
		w:    bufio.NewWriterSize(cw, pop3WriteBuffer),
		log:  srv.log.With("remote", conn.RemoteAddr().String()),
	}
}

// serve runs the session until QUIT, an error, a limit or the server's
// end.
func (s *pop3Session) serve() {
	defer s.end()
	s.log.Debug("POP3 session started")
	s.reply("+OK " + s.cfg.Greeting)
	for s.cw.err == nil {
		line, err := s.readLine()
		if err != nil {
			if !s.readFailed(err) {
				return
			}
			continue
		}
		if !s.command(line) {
			return
		}
	}
}

// readFailed answers a failed readLine; false ends the session.
func (s *pop3Session) readFailed(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, errPOP3LineTooLong):
		return s.badCommand("line too long")
	case errors.Is(err, errPOP3Junk):
		s.reply("-ERR line too long, closing connection")
	case errors.As(err, &ne) && ne.Timeout():
		// RFC 1939 section 3: close without a response. An idle client
		// reads nothing until its next command, and would take a reply
		// written now as that command's refusal (neomutt then fails a
		// RETR or DELE instead of reconnecting).
		s.log.Info("POP3 autologout", "user", pop3Trunc(s.user), "idle", s.cfg.IdleTimeout)
	default:
		s.log.Debug("POP3 session ends", "reason", err)
	}
	return false
}

// end flushes the last reply, closes the connection and releases the
// maildrop lock. Deletions have been committed (or not) before.
func (s *pop3Session) end() {
	s.cw.timeout = min(s.cw.timeout, pop3FinalWrite)
	s.w.Flush()
	s.conn.Close()
	s.releaseLock()
	s.log.Debug("POP3 session closed", "user", pop3Trunc(s.user))
}

// releaseLock releases the maildrop lock if the session holds it.
func (s *pop3Session) releaseLock() {
	if s.lockKey != "" {
		s.srv.unlock(s.lockKey)
		s.lockKey = ""
	}
}

// shutdown ends a session that has not logged in: at once if it is
// waiting for a command, otherwise after the command it is running. A
// logged-in session goes on until its QUIT commits its deletions (or the
// server's Shutdown gives up on it): cutting it between RETR and DELE
// would only make the client fetch the same mail again.
func (s *pop3Session) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	if s.idle && !s.loggedIn {
		s.conn.Close()
	}
}

// readLine returns the next command line without its CRLF (a bare LF is
// accepted too). It flushes pending replies first unless more pipelined
// input is already buffered, and waits at most IdleTimeout. A line longer
// than MaxLineLength is read to its end and discarded.
func (s *pop3Session) readLine() (string, error) { return s.readLineUpTo(s.cfg.MaxLineLength) }

// readLineUpTo is readLine for lines of up to max octets with the CRLF.
func (s *pop3Session) readLineUpTo(max int) (string, error) {
	if !s.lineBuffered() {
		if err := s.w.Flush(); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	if s.stopping && !s.loggedIn {
		s.mu.Unlock()
		return "", errPOP3Stopping
	}
	s.idle = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.idle = false
		s.mu.Unlock()
	}()

	if err := s.conn.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil {
		return "", err
	}
	limit := max - 2 // octets before CRLF
	var line []byte
	tooLong, junk := false, 0
	for {
		chunk, err := s.r.ReadSlice('\n')
		switch {
		case tooLong:
			junk += len(chunk)
			if junk > pop3MaxJunk {
				return "", errPOP3Junk
			}
		case len(line)+len(chunk) > limit+2:
			tooLong, line = true, nil
		default:
			line = append(line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err // a line cut off by EOF is not a command
		}
		break
	}
	if tooLong {
		return "", errPOP3LineTooLong
	}
	line = line[:len(line)-1] // '\n'
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > limit {
		return "", errPOP3LineTooLong
	}
	return string(line), nil
}

// lineBuffered reports whether a whole pipelined command is already
// buffered, so that replies can wait to go out together.
func (s *pop3Session) lineBuffered() bool {
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.r.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// reply queues one response line; CRLF is added.
func (s *pop3Session) reply(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// replyf queues one formatted response line.
func (s *pop3Session) replyf(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

// multi queues a multi-line response: first, the lines (which must not
// start with '.'), and the terminating ".".
func (s *pop3Session) multi(first string, lines ...string) {
	s.reply(first)
	for _, l := range lines {
		s.reply(l)
	}
	s.reply(".")
}

// badCommand answers a malformed, unknown or out-of-state command; false
// (end the session) once there have been MaxBadCommands of them.
func (s *pop3Session) badCommand(why string) bool {
	s.bad++
	if s.bad >= s.cfg.MaxBadCommands {
		s.log.Info("POP3 too many bad commands", "user", pop3Trunc(s.user)) // not why: it may quote a secret
		s.reply("-ERR " + why + "; too many bad commands, closing connection")
		return false
	}
	s.reply("-ERR " + why)
	return true
}

// login checks user and pass, locks the maildrop and takes the snapshot
// that TRANSACTION works on; false ends the session.
func (s *pop3Session) login(user, pass string) bool {
	s.haveUser = false
	s.user = user
	wait, ok := s.srv.failures.Reserve(user, s.cfg.AuthFailureDelay, time.Now())
	if ok && !s.wait(wait) {
		s.srv.failures.Abandoned(user, time.Now()) // the server is stopping
		ok = false
	}
	if !ok {
		s.authFails++
		why := "too many failed logins for this user name, try again in a few minutes"
		if s.srv.failures.RecentFailures(user, time.Now()) == 0 {
			why = "too many logins for this user name at once, try again in a minute"
		}
		s.log.Info("POP3 login refused unchecked: "+why, "user", logName(user, s.cfg.KnownUser))
		if s.authFails >= s.cfg.MaxAuthFailures {
			s.reply("-ERR [SYS/TEMP] " + why + "; closing connection")
			return false
		}
		s.reply("-ERR [SYS/TEMP] " + why)
		return true
	}
	md, err := s.srv.auth.Authenticate(user, pass)
	if err == nil && md == nil {
		err = errors.New("authenticator returned no maildrop")
	}
	switch {
	case err == nil:
		s.srv.failures.Succeeded(user, time.Now())
	case errors.Is(err, ErrPOP3BadCredentials):
		return s.authFailed(user) // ends the turn with Failed
	default:
		s.srv.failures.Abandoned(user, time.Now())
	}
	if err != nil {
		s.log.Error("POP3 cannot check credentials", "user", logName(user, s.cfg.KnownUser), "err", err)
		s.reply("-ERR [SYS/TEMP] cannot check credentials now, try again later")
		return true
	}
	key := "user " + user
	if sm, ok := md.(SharedMaildrop); ok {
		key = "maildrop " + sm.LockKey()
	}
	if !s.srv.lock(key) {
		s.log.Info("POP3 maildrop already locked", "user", pop3Trunc(user))
		s.reply("-ERR [IN-USE] maildrop already locked")
		return true
	}
	list, err := md.List()
	if err == nil {
		err = pop3CheckList(list)
	}
	if err != nil {
		s.srv.unlock(key)
		s.log.Error("POP3 cannot list maildrop", "user", pop3Trunc(user), "err", err)
		s.reply("-ERR [SYS/TEMP] cannot open maildrop")
		return true
	}
	s.state, s.md, s.lockKey = pop3Transaction, md, key
	s.mu.Lock()
	s.loggedIn = true
	s.mu.Unlock()
	s.msgs = make([]pop3Msg, len(list))
	var total int64
	for i, m := range list {
		s.msgs[i] = pop3Msg{uid: m.UID, size: m.Size}
		total += m.Size
	}
	s.log.Info("POP3 login", "user", pop3Trunc(user), "messages", len(list))
	s.replyf("+OK maildrop locked and ready, %s (%d octets)", plural.Count(len(list), "message"), total)
	return true
}

// authFailed answers a failed login after the failure delay; false once
// the connection has failed MaxAuthFailures times.
func (s *pop3Session) authFailed(user string) bool {
	s.authFails++
	s.log.Info("POP3 login failed", "user", logName(user, s.cfg.KnownUser), "failures", s.authFails)
	s.wait(s.srv.failures.Failed(user, s.cfg.AuthFailureDelay, time.Now()))
	if s.authFails >= s.cfg.MaxAuthFailures {
		s.reply("-ERR [AUTH] invalid user name or password; too many failures, closing connection")
		return false
	}
	s.reply("-ERR [AUTH] invalid user name or password")
	return true
}

// wait waits d, or less if the server stops, sending earlier pipelined
// replies first; it reports whether it waited all of d.
func (s *pop3Session) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	s.w.Flush() // earlier pipelined replies are not held back
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.srv.done:
		return false
	}
}

// pop3CheckList checks what a Maildrop listed: UIDs valid per RFC 1939 and
// distinct, sizes not negative.
func pop3CheckList(list []MaildropMessage) error {
	seen := make(map[string]bool, len(list))
	for i, m := range list {
		if len(m.UID) < 1 || len(m.UID) > 70 {
			return fmt.Errorf("message %d: UID of %d characters, want 1 to 70", i+1, len(m.UID))
		}
		for j := 0; j < len(m.UID); j++ {
			if c := m.UID[j]; c < 0x21 || c > 0x7e {
				return fmt.Errorf("message %d: UID has character %q", i+1, c)
			}
		}
		if seen[m.UID] {
			return fmt.Errorf("message %d: UID %s listed twice", i+1, m.UID)
		}
		seen[m.UID] = true
		if m.Size < 0 {
			return fmt.Errorf("message %d: size %d", i+1, m.Size)
		}
	}
	return nil
}

// logName is how a log names the user of a refused or failed login: its
// name if it is a user's (known), else only that it is not, since what a
// client sent as a user name may be a password typed in the wrong field.
func logName(name string, known func(string) bool) string {
	if known != nil && known(name) {
		return pop3Trunc(name)
	}
	return "(not a user)"
}

// pop3Trunc shortens client-supplied text for replies and logs.
func pop3Trunc(s string) string {
	const n = 40
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// pop3QuoteArg quotes client-supplied text for a reply: short, escaped.
func pop3QuoteArg(s string) string {
	return strconv.Quote(pop3Trunc(s))
}

// pop3ConnWriter writes to the connection with a deadline of timeout
// per write, so a client that stops reading cannot hold a session forever,
// and remembers the first error.
type pop3ConnWriter struct {
	conn    net.Conn
	timeout time.Duration
	err     error
}

func (w *pop3ConnWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		w.err = err
		return 0, err
	}
	n, err := w.conn.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}
