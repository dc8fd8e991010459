package gateway

// The POP3 server: the seams to the rest of the node (POP3Authenticator,
// Maildrop) and the server's lifecycle. Its configuration is in
// pop3_config.go, the session in pop3_session.go, its commands in
// pop3_commands.go, message streaming in pop3_message.go and the adapter
// over the inbox in pop3_maildrop.go.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ErrPOP3BadCredentials is what a POP3Authenticator returns (possibly
// wrapped) for a wrong user name or password. The client is told
// "-ERR [AUTH] ..." (RFC 3206); any other error is a system failure and is
// told "-ERR [SYS/TEMP] ...", so that a mail client does not ask its user
// for a new password when the fault is the server's.
var ErrPOP3BadCredentials = errors.New("gateway: invalid user name or password")

// ErrPOP3ServerClosed is returned by Serve and ListenAndServe after Close or
// Shutdown.
var ErrPOP3ServerClosed = errors.New("gateway: POP3 server closed")

// POP3Authenticator checks a user's credentials and returns the user's
// maildrop. It is called for USER/PASS and AUTH PLAIN, from many sessions
// at once. It should compare secrets in constant time (bcrypt does) and
// return ErrPOP3BadCredentials for unknown users and wrong passwords alike.
type POP3Authenticator interface {
	Authenticate(user, pass string) (Maildrop, error)
}

// POP3AuthFunc adapts a function to POP3Authenticator.
type POP3AuthFunc func(user, pass string) (Maildrop, error)

// Authenticate calls f(user, pass).
func (f POP3AuthFunc) Authenticate(user, pass string) (Maildrop, error) { return f(user, pass) }

// MaildropMessage is one message of a maildrop as listed.
type MaildropMessage struct {
	// UID is the message's unique ID, stable across sessions: 1 to 70
	// characters in 0x21-0x7E (RFC 1939 UIDL).
	UID string

	// Size is the exact number of octets Open serves for the message:
	// the message with CRLF line endings, before the server's
	// dot-stuffing. Clients compare it with what RETR delivers.
	Size int64
}

// Maildrop is what a POP3 session needs of a user's mailbox. The server
// holds the user's maildrop lock from login until the session ends, so one
// session at a time uses a maildrop (see SharedMaildrop); it may still be
// delivered to meanwhile.
type Maildrop interface {
	// List returns the messages, in the order the session numbers them
	// from 1. The session takes this snapshot once, at login.
	List() ([]MaildropMessage, error)

	// Open returns the bytes of the message with the given UID, exactly
	// as the client should receive them: lines ending in CRLF, the last
	// line too, and exactly the Size List reported. The server
	// dot-stuffs them. The session closes the reader.
	Open(uid string) (io.ReadCloser, error)

	// Delete removes the messages with the given UIDs. It may remove
	// them in several steps; on an error some may be gone and the others
	// kept (RFC 1939 §6 allows that), never a message it was not given.
	Delete(uids ...string) error
}

// SharedMaildrop is a Maildrop that several user names (or several
// Maildrop values) can reach: it names the lock they all share. Without
// it, the lock is per user name as the client typed it.
type SharedMaildrop interface {
	Maildrop

	// LockKey identifies the maildrop: sessions whose maildrops report
	// the same key exclude each other.
	LockKey() string
}

// POP3Server is a POP3 server (RFC 1939, with RFC 2449 CAPA, RFC 2449 and
// RFC 3206 response codes, pipelining and RFC 5034 SASL PLAIN). It is safe
// for concurrent use.
type POP3Server struct {
	cfg  POP3Config
	auth POP3Authenticator
	log  *slog.Logger

	mu        sync.Mutex
	closed    bool
	done      chan struct{} // closed by Close and Shutdown
	listeners map[net.Listener]struct{}
	addr      net.Addr // of the first listener
	sessions  map[*pop3Session]struct{}
	locks     map[string]struct{} // maildrop lock keys held
	failures  *LoginFailures
	wg        sync.WaitGroup // sessions
}

// NewPOP3Server returns a server with cfg (zero fields take defaults) that
// checks logins with auth.
func NewPOP3Server(cfg POP3Config, auth POP3Authenticator) (*POP3Server, error) {
	if auth == nil {
		return nil, errors.New("gateway: NewPOP3Server needs a POP3Authenticator")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &POP3Server{
		cfg:       cfg,
		auth:      auth,
		log:       log.With("component", "pop3"),
		done:      make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*pop3Session]struct{}),
		locks:     make(map[string]struct{}),
		failures:  cmp.Or(cfg.Failures, &LoginFailures{}),
	}, nil
}

// ListenAndServe listens on the configured Addr and serves it until Close
// or Shutdown, when it returns ErrPOP3ServerClosed.
func (srv *POP3Server) ListenAndServe() error {
	l, err := net.Listen("tcp", srv.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: POP3 listen: %w", err)
	}
	return srv.Serve(l)
}

// Serve accepts connections on l until Close or Shutdown, when it closes l
// and returns ErrPOP3ServerClosed. Serve may be called for several
// listeners.
func (srv *POP3Server) Serve(l net.Listener) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		l.Close()
		return ErrPOP3ServerClosed
	}
	srv.listeners[l] = struct{}{}
	if srv.addr == nil {
		srv.addr = l.Addr()
	}
	srv.mu.Unlock()
	srv.log.Info("POP3 server listening", "addr", l.Addr().String())

	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if srv.isClosed() {
				return ErrPOP3ServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			srv.log.Warn("POP3 accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-srv.done:
			}
			continue
		}
		backoff = 0
		srv.start(conn)
	}
}

// start registers a session for conn and runs it, or turns conn away.
func (srv *POP3Server) start(conn net.Conn) {
	srv.mu.Lock()
	switch {
	case srv.closed:
		srv.mu.Unlock()
		conn.Close()
		return
	case len(srv.sessions) >= srv.cfg.MaxConnections:
		srv.mu.Unlock()
		srv.log.Warn("POP3 connection refused: too many connections", "remote", conn.RemoteAddr().String())
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, "-ERR [SYS/TEMP] too many connections\r\n")
		conn.Close()
		return
	}
	s := newPOP3Session(srv, conn)
	srv.sessions[s] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	go func() {
		defer srv.wg.Done()
		s.serve()
		srv.mu.Lock()
		delete(srv.sessions, s)
		srv.mu.Unlock()
	}()
}

// Addr returns the address of the first listener Serve was given, or nil
// before that.
func (srv *POP3Server) Addr() net.Addr {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.addr
}

func (srv *POP3Server) isClosed() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.closed
}

// stop marks the server closed, closes its listeners and returns the open
// sessions.
func (srv *POP3Server) stop() ([]*pop3Session, error) {
	srv.mu.Lock()
	if !srv.closed {
		srv.closed = true
		close(srv.done)
	}
	var err error
	for l := range srv.listeners {
		if cerr := l.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = errors.Join(err, cerr)
		}
		delete(srv.listeners, l)
	}
	ss := make([]*pop3Session, 0, len(srv.sessions))
	for s := range srv.sessions {
		ss = append(ss, s)
	}
	srv.mu.Unlock()
	return ss, err
}

// Close stops accepting connections and closes every open connection at
// once. A session that had already read QUIT still commits its deletions
// (UPDATE does not need the connection); every other session ends without
// deleting anything. Close returns when all sessions have ended.
func (srv *POP3Server) Close() error {
	ss, err := srv.stop()
	for _, s := range ss {
		s.conn.Close()
	}
	srv.wg.Wait()
	return err
}

// Shutdown stops accepting connections and closes the sessions that have
// not logged in (after the command one is running, if any). A logged-in
// session goes on, command after command, until its QUIT has committed
// its deletions: a mail client in the middle of fetching finishes. It
// waits until all sessions have ended. If ctx ends first, it closes the
// rest as Close does (their deletions are not committed) and returns
// ctx.Err().
func (srv *POP3Server) Shutdown(ctx context.Context) error {
	ss, err := srv.stop()
	for _, s := range ss {
		s.shutdown()
	}
	finished := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return err
	case <-ctx.Done():
		return errors.Join(err, srv.Close(), ctx.Err())
	}
}

// lock takes the maildrop lock key; false if another session holds it.
func (srv *POP3Server) lock(key string) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if _, held := srv.locks[key]; held {
		return false
	}
	srv.locks[key] = struct{}{}
	return true
}

func (srv *POP3Server) unlock(key string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	delete(srv.locks, key)
}
