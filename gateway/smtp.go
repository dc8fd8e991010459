package gateway

// The SMTP submission server: the seams to the rest of the node (Submitter,
// RecipientResolver, PlainSender) and the server's lifecycle, over
// emersion/go-smtp. Its configuration is in smtp_config.go, the session
// (AUTH, MAIL, RCPT, DATA) in smtp_session.go.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// ErrSMTPServerClosed is returned by Serve and ListenAndServe after Close or
// Shutdown.
var ErrSMTPServerClosed = errors.New("gateway: SMTP server closed")

// Submitter queues mail for the mesh. *mesh.Node implements it: Submit
// seals one envelope per Outgoing and writes all of them durably in one
// atomic store write, or none. Errors wrapping mesh.ErrTooLarge and
// mesh.ErrBadMail are permanent; others are worth retrying.
type Submitter interface {
	Submit(msgs ...mesh.Outgoing) ([]envelope.ID, error)
}

var _ Submitter = (*mesh.Node)(nil)

// RecipientResolver turns a recipient address into the key mail to it is
// sealed to. *Resolver implements it; errors should be *ResolveError (any
// other error is answered as a temporary failure).
type RecipientResolver interface {
	Resolve(ctx context.Context, address string) (Resolution, error)
}

var _ RecipientResolver = (*Resolver)(nil)

// SMTPServer is the node's SMTP submission server (RFC 6409 in spirit, on
// loopback): a mail client authenticates (AUTH PLAIN or LOGIN), names its
// recipients, each resolved at RCPT through the RecipientResolver, and
// sends the mail; the server submits one envelope per recipient to the
// node in one atomic, durable write, and only then answers 250. The mail
// is sealed byte for byte as the client sent it, less a leading mbox
// "From " line (stripMboxFrom) and its Bcc and Resent-Bcc fields (see
// stripBcc), and with a Date and a Message-ID field first when it has none
// (see completeHeader); the recipient's node adds the delivery headers.
//
// EHLO advertises AUTH PLAIN LOGIN, SIZE (SMTPConfig.MaxMessageBytes),
// 8BITMIME, SMTPUTF8, PIPELINING, ENHANCEDSTATUSCODES and CHUNKING.
// A recipient named twice, or under two addresses of the same key, gets
// one copy. The reverse-path of MAIL FROM is not carried: the recipient
// learns the sender from the envelope's verified key, and checks the From
// header against it. It is safe for concurrent use.
type SMTPServer struct {
	cfg      SMTPConfig
	resolver RecipientResolver
	node     Submitter
	auth     atomic.Pointer[smtpAuth] // SetUsers swaps it
	failures *LoginFailures
	log      *slog.Logger
	smtp     *smtp.Server

	ctx    context.Context // ends at Close: bounds resolver lookups
	cancel context.CancelFunc

	mu        sync.Mutex
	closing   bool          // Shutdown or Close began: no new connections or transactions
	stopping  chan struct{} // closed when closing is set
	closed    bool          // Close began, or Shutdown stopped waiting: no DATA either
	addr      net.Addr
	listeners map[net.Listener]struct{}
	conns     map[*smtpConn]struct{}
	data      sync.WaitGroup // DATA in progress; Add only while !closed
}

// SetUsers replaces the users that may log in (user name to bcrypt hash,
// as SMTPConfig.Users), checked as NewSMTPServer checks them. Logins from
// then on use the new set; a session already logged in stays so.
func (srv *SMTPServer) SetUsers(users map[string]string) error {
	c := SMTPConfig{Users: users}
	if err := c.validateUsers(); err != nil {
		return err
	}
	auth, err := newSMTPAuth(users)
	if err != nil {
		return err
	}
	srv.auth.Store(auth)
	return nil
}

// meshConfigurer is the optional capability of a Submitter to report its
// mesh.Config; *mesh.Node has it.
type meshConfigurer interface {
	Config() mesh.Config
}

// NewSMTPServer returns a server with cfg (zero fields take defaults) that
// resolves recipients with resolver and queues mail with node. When
// cfg.MaxMessageBytes is 0 and node reports its mesh.Config (as *mesh.Node
// does), the default is the largest mail that fits that node's
// MaxEnvelopeSize rather than the default node's.
func NewSMTPServer(cfg SMTPConfig, resolver RecipientResolver, node Submitter) (*SMTPServer, error) {
	if resolver == nil || node == nil {
		return nil, errors.New("gateway: NewSMTPServer needs a RecipientResolver and a Submitter")
	}
	if mc, ok := node.(meshConfigurer); ok && cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = LargestSealableBody(mc.Config().MaxEnvelopeSize)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	auth, err := newSMTPAuth(cfg.Users)
	if err != nil {
		return nil, err
	}
	cfg.Users = nil // auth holds them; SetUsers replaces them
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &SMTPServer{
		cfg:       cfg,
		resolver:  resolver,
		node:      node,
		log:       log.With("component", "smtp"),
		conns:     make(map[*smtpConn]struct{}),
		listeners: make(map[net.Listener]struct{}),
		failures:  cmp.Or(cfg.Failures, &LoginFailures{}),
		stopping:  make(chan struct{}),
	}
	srv.auth.Store(auth)
	srv.ctx, srv.cancel = context.WithCancel(context.Background())

	s := smtp.NewServer(smtp.BackendFunc(srv.newSession))
	s.Addr = cfg.Addr
	s.Domain = cfg.Domain
	s.MaxMessageBytes = cfg.MaxMessageBytes
	s.MaxRecipients = cfg.MaxRecipients
	s.MaxLineLength = smtpStreamLineLimit // data lines are checked by checkBody
	s.ReadTimeout = cfg.ReadTimeout
	s.WriteTimeout = cfg.WriteTimeout
	s.AllowInsecureAuth = true // loopback only unless AllowRemote: see SMTPConfig.Addr
	s.EnableSMTPUTF8 = true    // the mail is carried as bytes; UTF-8 addresses resolve like any
	s.ErrorLog = smtpErrorLog{srv.log}
	srv.smtp = s
	return srv, nil
}

// ListenAndServe listens on the configured Addr and serves it until Close
// or Shutdown, when it returns ErrSMTPServerClosed.
func (srv *SMTPServer) ListenAndServe() error {
	l, err := net.Listen("tcp", srv.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: SMTP listen: %w", err)
	}
	return srv.Serve(l)
}

// Serve accepts connections on l until Close or Shutdown, when it closes l
// and returns ErrSMTPServerClosed. Serve may be called for several
// listeners. It does not check l's address: AllowRemote guards only Addr.
func (srv *SMTPServer) Serve(l net.Listener) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		l.Close()
		return ErrSMTPServerClosed
	}
	if srv.addr == nil {
		srv.addr = l.Addr()
	}
	srv.listeners[l] = struct{}{}
	srv.mu.Unlock()
	srv.log.Info("SMTP server listening", "addr", l.Addr().String())

	err := srv.smtp.Serve(smtpListener{Listener: l, srv: srv})
	srv.mu.Lock()
	delete(srv.listeners, l)
	closing := srv.closing
	srv.mu.Unlock()
	if closing {
		l.Close()
		return ErrSMTPServerClosed
	}
	return err
}

// Addr returns the address of the first listener Serve was given, or nil
// before that.
func (srv *SMTPServer) Addr() net.Addr {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.addr
}

// Close stops accepting connections and closes every connection at once.
// A DATA whose mail was fully received may still be submitted (the client
// then never sees the 250, and may send it again); Close returns when no
// DATA is in progress, so that the node can be closed after it.
func (srv *SMTPServer) Close() error {
	srv.stop()
	srv.mu.Lock()
	srv.closed = true
	conns := srv.connList()
	srv.mu.Unlock()
	srv.cancel()
	err := srv.smtp.Close() // closes the connections
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil // after Shutdown; listeners closed by stop
	}
	for _, c := range conns {
		c.Close()
	}
	srv.data.Wait()
	return err
}

// Shutdown stops accepting connections, closes the connections that are
// not in a mail transaction (an idle session, logged in or not, is cut:
// the client just reconnects later), and lets every transaction in
// progress go on: a client that has sent MAIL FROM may still send RCPT
// and DATA, its mail is submitted and answered, and its connection is
// closed after that reply (or after RSET). It waits until all connections
// have ended. If ctx ends first, it closes the rest as Close does and
// returns ctx.Err(). A new MAIL FROM on a connection that is still open is
// answered 421.
func (srv *SMTPServer) Shutdown(ctx context.Context) error {
	srv.stop()
	srv.mu.Lock()
	var idle []*smtpConn
	for c := range srv.conns {
		if !c.busy {
			idle = append(idle, c)
		}
	}
	srv.mu.Unlock()
	var bye sync.WaitGroup // a second at most, for all of them at once
	for _, c := range idle {
		bye.Go(c.goodbye)
	}
	bye.Wait()
	err := srv.smtp.Shutdown(ctx) // waits for the connections
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil // Shutdown or Close ran before; listeners closed by stop
	}
	if ctx.Err() != nil {
		return errors.Join(srv.Close(), ctx.Err())
	}
	// go-smtp does not wait a second time: wait for the DATA here too,
	// after making sure no new one begins.
	srv.mu.Lock()
	srv.closed = true
	srv.mu.Unlock()
	dataDone := make(chan struct{})
	go func() {
		srv.data.Wait()
		close(dataDone)
	}()
	select {
	case <-dataDone:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		return errors.Join(srv.Close(), ctx.Err())
	}
	srv.cancel()
	return err
}

// stop marks the server closing and closes its listeners (go-smtp closes
// those it knows too; this covers a Serve that raced with the close).
func (srv *SMTPServer) stop() {
	srv.mu.Lock()
	if !srv.closing {
		close(srv.stopping)
	}
	srv.closing = true
	ls := make([]net.Listener, 0, len(srv.listeners))
	for l := range srv.listeners {
		ls = append(ls, l)
	}
	srv.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
}

// sleep waits d, or less if the server begins to stop (a login's wait
// must not hold up Shutdown); it reports whether it waited all of d.
func (srv *SMTPServer) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-srv.stopping:
		return false
	}
}

// connList returns the open connections; srv.mu must be held.
func (srv *SMTPServer) connList() []*smtpConn {
	cs := make([]*smtpConn, 0, len(srv.conns))
	for c := range srv.conns {
		cs = append(cs, c)
	}
	return cs
}

// track registers a new connection. It returns errSMTPClosing (after
// closing c) when the server is closing, and errSMTPBusy (after answering
// 421 and closing c) when MaxConnections are open.
func (srv *SMTPServer) track(c net.Conn) (*smtpConn, error) {
	srv.mu.Lock()
	switch {
	case srv.closing:
		srv.mu.Unlock()
		c.Close()
		return nil, errSMTPClosing
	case len(srv.conns) >= srv.cfg.MaxConnections:
		srv.mu.Unlock()
		srv.log.Warn("SMTP connection refused: too many connections", "remote", c.RemoteAddr().String())
		c.SetWriteDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "421 4.7.0 %s too many connections, try again later\r\n", srv.cfg.Domain)
		c.Close()
		return nil, errSMTPBusy
	}
	defer srv.mu.Unlock()
	sc := &smtpConn{Conn: c, srv: srv}
	srv.conns[sc] = struct{}{}
	return sc, nil
}

var (
	errSMTPClosing = errors.New("gateway: SMTP server closing")
	errSMTPBusy    = errors.New("gateway: too many SMTP connections")
)

// beginTransaction marks c as in a mail transaction, which Shutdown lets
// finish; false if the server is closing (no new transactions).
func (srv *SMTPServer) beginTransaction(c *smtpConn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	if c != nil {
		c.busy = true
	}
	return true
}

// beginData registers a DATA in progress; false if the server is closed,
// or closing and c was not in a transaction when Shutdown began.
func (srv *SMTPServer) beginData(c *smtpConn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed || srv.closing && (c == nil || !c.busy) {
		return false
	}
	srv.data.Add(1)
	if c != nil {
		c.busy = true
	}
	return true
}

// endTransaction runs when a session resets, which go-smtp does after it
// has written the reply to DATA, and at RSET: c is no longer busy, and if
// the server is shutting down its connection is closed now that the reply
// is out.
func (srv *SMTPServer) endTransaction(c *smtpConn) {
	if c == nil {
		return
	}
	srv.mu.Lock()
	c.busy = false
	closing := srv.closing
	srv.mu.Unlock()
	if closing {
		c.goodbye()
	}
}

// smtpListener hands go-smtp connections the server tracks.
type smtpListener struct {
	net.Listener
	srv *SMTPServer
}

func (l smtpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		sc, err := l.srv.track(c)
		switch {
		case errors.Is(err, errSMTPBusy):
			continue // refused; wait for the next one
		case err != nil:
			return nil, net.ErrClosed // go-smtp's Serve then returns
		}
		return sc, nil
	}
}

// smtpConn is a connection the server tracks until it is closed.
type smtpConn struct {
	net.Conn
	srv  *SMTPServer
	once sync.Once
	busy bool // in a mail transaction, from MAIL to the reply to DATA or RSET; guarded by srv.mu
	// ended is set once a read that asked for more got nothing but an
	// error (end of stream included): the client sent all it will.
	// go-smtp copies a BDAT chunk cut short by the end of the connection
	// as if it were whole, so Data asks this before it takes a mail.
	ended atomic.Bool
	// held is the error of a read that also returned data (crypto/tls
	// returns the last data with io.EOF when the close alert follows
	// it): the data goes now, the error with the next read, so that the
	// read which completes a mail never sets ended. Only the reading
	// goroutine touches it.
	held error
	// wmu makes each write whole, so that goodbye's line does not land
	// inside one of go-smtp's.
	wmu sync.Mutex
	// byeBy is goodbye's write deadline (Unix nanoseconds) once it has
	// begun: go-smtp, setting its own before each reply, may not push it
	// later (see SetWriteDeadline).
	byeBy atomic.Int64
}

// SetWriteDeadline sets the write deadline, but never past goodbye's once
// that has begun.
func (c *smtpConn) SetWriteDeadline(t time.Time) error {
	if by := c.byeBy.Load(); by != 0 && (t.IsZero() || t.UnixNano() > by) {
		t = time.Unix(0, by)
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline is SetWriteDeadline's rule for the write half.
func (c *smtpConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// Write passes p on, one write at a time.
func (c *smtpConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.Write(p)
}

// smtpGoodbye is what a connection the server closes as it shuts down
// reads last: RFC 5321 §3.8 has a server send 421 before it closes.
const smtpGoodbye = "421 4.3.2 Service shutting down, try again later\r\n"

// goodbye tells the client the server is shutting down (421), then
// closes the connection, within about a second whatever the client does:
// the write deadline also cuts short a write of go-smtp's that a client
// which stopped reading holds up, and if the write lock is still not free
// after a second the connection is closed without the line.
func (c *smtpConn) goodbye() {
	deadline := time.Now().Add(time.Second)
	c.byeBy.Store(deadline.UnixNano())
	c.SetWriteDeadline(deadline)
	for !c.wmu.TryLock() {
		if time.Now().After(deadline) {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Conn.Write([]byte(smtpGoodbye))
	c.wmu.Unlock()
	c.Close()
}

func (c *smtpConn) Read(p []byte) (int, error) {
	if err := c.held; err != nil {
		c.held = nil
		c.ended.Store(true)
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		if n > 0 {
			c.held = err
			return n, nil
		}
		c.ended.Store(true)
	}
	return n, err
}

func (c *smtpConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// smtpErrorLog passes go-smtp's own error log (connection errors, panics)
// to slog: at debug level for a client that simply went away (a health
// check's bare connect, a reset, an EOF), which is no fault of the node's,
// at warn level for anything else.
type smtpErrorLog struct{ log *slog.Logger }

func (l smtpErrorLog) Printf(format string, v ...any) {
	l.logLine("SMTP: " + fmt.Sprintf(format, v...))
}

func (l smtpErrorLog) Println(v ...any) {
	l.logLine("SMTP: " + fmt.Sprint(v...))
}

func (l smtpErrorLog) logLine(msg string) {
	for _, gone := range []string{"connection reset by peer", "broken pipe", ": EOF", "use of closed network connection"} {
		if strings.Contains(msg, gone) {
			l.log.Debug(msg)
			return
		}
	}
	l.log.Warn(msg)
}
