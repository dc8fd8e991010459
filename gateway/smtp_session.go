package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// smtpResolveTimeout bounds one recipient lookup (a tox1 DNS query).
const smtpResolveTimeout = 30 * time.Second

// Replies of the session. go-smtp finds a reply only in an unwrapped
// *smtp.SMTPError: every error a Session method returns is one of these or
// built by smtpErr.
var (
	errSMTPAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required: AUTH PLAIN or LOGIN first"}
	errSMTPTooLarge = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: "Message too large for one envelope"}
	errSMTPShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Server shutting down, try again later"}
	errSMTPNotQueued = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Mail not queued (local error), try again later"}
)

func smtpErr(code int, enh [3]int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: replyLine(msg)}
}

// smtpRcpt is an accepted recipient.
type smtpRcpt struct {
	res   Resolution
	plain bool // goes through PlainSender
}

// smtpSession is one connection's SMTP session. go-smtp calls its methods
// from the connection's goroutine, except Data under BDAT (a goroutine of
// its own) and Logout (from Close); mu guards the transaction.
type smtpSession struct {
	srv  *SMTPServer
	conn *smtpConn // nil if go-smtp was handed another net.Conn
	log  *slog.Logger

	mu       sync.Mutex
	user     string // authenticated user; "" before AUTH
	inMail   bool   // a MAIL transaction is open (until DATA ends or RSET)
	size     int64  // the mail's size as MAIL's SIZE= gave it; 0 if not
	rcpts    []smtpRcpt
	keys     map[envelope.PublicKey]struct{}
	failures int // failed logins on this connection
	netConn  interface{ Close() error }
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (srv *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	sc, _ := c.Conn().(*smtpConn)
	s := &smtpSession{srv: srv, conn: sc, netConn: c.Conn(), log: srv.log.With("remote", c.Conn().RemoteAddr().String())}
	s.log.Debug("SMTP session started", "helo", replyLine(c.Hostname()))
	return s, nil
}

// AuthMechanisms implements smtp.AuthSession.
func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

// Auth implements smtp.AuthSession.
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				s.log.Info("SMTP login refused: authorization identity differs", "user", logName(user, s.srv.auth.Load().known))
				return smtp.ErrAuthFailed
			}
			return s.login(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks a user's password; the error is the reply.
func (s *smtpSession) login(user, pass string) error {
	s.mu.Lock()
	spent := s.failures >= s.srv.cfg.MaxAuthFailures
	s.mu.Unlock()
	if spent {
		return s.hangUp()
	}
	base := s.srv.cfg.AuthFailureDelay
	wait, ok := s.srv.failures.Reserve(user, base, time.Now())
	if ok && !s.srv.sleep(wait) {
		s.srv.failures.Abandoned(user, time.Now()) // the server is stopping
		ok = false
	}
	if !ok {
		s.mu.Lock()
		s.failures++
		n := s.failures
		s.mu.Unlock()
		if n >= s.srv.cfg.MaxAuthFailures {
			s.log.Info("SMTP login refused unchecked: too many logins waiting for this user name", "user", logName(user, s.srv.auth.Load().known))
			return s.hangUp()
		}
		if s.srv.failures.RecentFailures(user, time.Now()) == 0 {
			s.log.Info("SMTP login refused unchecked: too many logins at once for this user name", "user", logName(user, s.srv.auth.Load().known))
			return smtpErr(454, [3]int{4, 7, 0}, "too many logins for this user name at once; try again in a minute")
		}
		s.log.Info("SMTP login refused unchecked: too many recent failures for this user name", "user", logName(user, s.srv.auth.Load().known))
		return smtpErr(454, [3]int{4, 7, 0}, "too many failed logins for this user name; try again in a few minutes")
	}
	if !s.srv.auth.Load().check(user, pass) {
		s.mu.Lock()
		s.failures++
		n := s.failures
		s.mu.Unlock()
		s.log.Info("SMTP login failed", "user", logName(user, s.srv.auth.Load().known), "failures", n)
		if base > 0 {
			// Slow down guessing, on this connection and across them.
			s.srv.sleep(max(time.Duration(n)*base, s.srv.failures.Failed(user, base, time.Now())))
		}
		if n >= s.srv.cfg.MaxAuthFailures {
			return s.hangUp()
		}
		return smtp.ErrAuthFailed // 535 5.7.8
	}
	s.srv.failures.Succeeded(user, time.Now())
	s.mu.Lock()
	s.user = user
	s.mu.Unlock()
	s.log.Info("SMTP login", "user", pop3Trunc(user))
	return nil
}

// hangUp answers that logins on this connection were refused too often
// (failed, or refused unchecked while too many waited), and closes it once
// the reply is out.
func (s *smtpSession) hangUp() error {
	time.AfterFunc(200*time.Millisecond, func() { s.netConn.Close() })
	return smtpErr(421, [3]int{4, 7, 0}, "too many refused logins on this connection, closing connection")
}

// loginServer is the server side of SASL LOGIN (draft-murchison-sasl-login),
// which go-sasl does not provide: "Username:" and "Password:" challenges,
// the user name possibly as the initial response.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if response == nil { // no initial response
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}

// Mail implements smtp.Session. The reverse-path is not used: the mesh
// carries the sender's verified key instead.
func (s *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.user == "" {
		return errSMTPAuthRequired
	}
	if s.inMail {
		return smtpErr(503, [3]int{5, 5, 1}, "nested MAIL command: finish this mail or send RSET first")
	}
	if check := s.srv.cfg.SpaceCheck; check != nil {
		if err := check(); err != nil {
			s.log.Warn("mail refused for now: no room", "err", err)
			return smtpErr(452, [3]int{4, 3, 1}, "insufficient storage, try again later: "+err.Error())
		}
	}
	if !s.srv.beginTransaction(s.conn) {
		return errSMTPShuttingDown
	}
	s.resetLocked()
	s.inMail = true
	if opts != nil {
		s.size = opts.Size
	}
	return nil
}

// Rcpt implements smtp.Session: the recipient is resolved now, so that an
// unknown one is refused at once (550 5.1.1) and a DNS failure deferred
// (451 4.4.3).
func (s *smtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.mu.Lock()
	authed := s.user != ""
	s.mu.Unlock()
	if !authed {
		return errSMTPAuthRequired
	}
	ctx, cancel := context.WithTimeout(s.srv.ctx, smtpResolveTimeout)
	res, err := s.srv.resolver.Resolve(ctx, to)
	cancel()
	if err != nil {
		var re *ResolveError
		if errors.As(err, &re) {
			code, enh, msg := re.SMTPStatus()
			s.log.Debug("SMTP recipient refused", "address", replyLine(to), "temporary", re.Temp, "reason", msg)
			return smtpErr(code, enh, msg)
		}
		s.log.Warn("SMTP recipient lookup failed", "domain", addrDomainForLog(to), "err", err)
		return smtpErr(451, [3]int{4, 4, 3}, "recipient lookup failed, try again later")
	}
	plain := s.srv.cfg.Plain != nil && s.srv.cfg.Plain.IsPlain(res.Key)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = make(map[envelope.PublicKey]struct{})
	}
	if _, dup := s.keys[res.Key]; dup {
		// One copy per key: the same person named twice, or under two
		// addresses, gets the mail once.
		s.log.Debug("SMTP recipient repeated", "address", res.Address, "resolution", res)
		return nil
	}
	if !plain && s.size > 0 && (s.meshRcptsLocked()+1)*s.size > s.srv.cfg.MaxTransactionBytes {
		// RFC 5321 §3.3: the client sends the mail to those accepted,
		// then to the rest in another transaction.
		s.log.Debug("SMTP recipient deferred: the mail's copies would pass MaxTransactionBytes",
			"size", s.size, "recipients", s.meshRcptsLocked())
		return smtpErr(452, [3]int{4, 5, 3}, fmt.Sprintf("too many recipients for a mail of %d bytes: "+
			"send it to the rest in another mail", s.size))
	}
	s.keys[res.Key] = struct{}{}
	s.rcpts = append(s.rcpts, smtpRcpt{res: res, plain: plain})
	s.log.Debug("SMTP recipient accepted", "address", res.Address, "resolution", res, "detail", res.Detail, "plain", plain)
	return nil
}

// Data implements smtp.Session: it reads the mail, submits one envelope
// per mesh recipient in one atomic, durable Submit, hands plain copies to
// the PlainSender, and returns nil (250) only then.
func (s *smtpSession) Data(r io.Reader) error {
	if !s.srv.beginData(s.conn) {
		return errSMTPShuttingDown
	}
	defer s.srv.data.Done()
	s.mu.Lock()
	user, rcpts := s.user, append([]smtpRcpt(nil), s.rcpts...)
	s.mu.Unlock()
	if user == "" {
		return errSMTPAuthRequired
	}
	if len(rcpts) == 0 {
		return smtpErr(554, [3]int{5, 5, 1}, "no valid recipients")
	}

	limit := s.srv.cfg.MaxMessageBytes
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge) && !isBDAT(r):
		// go-smtp's DATA reader stops at the limit before it can see the
		// end of the data, so a mail of exactly SIZE bytes lands here too
		// (see SMTPConfig.MaxMessageBytes): say what DATA takes.
		s.log.Info("SMTP mail refused: too large", "limit", limit)
		return smtpErr(552, [3]int{5, 3, 4}, fmt.Sprintf("Message too large: this server takes at most %d bytes by DATA "+
			"(%d by BDAT)", limit-1, limit))
	case errors.Is(err, smtp.ErrDataTooLarge) || err == nil && int64(len(body)) > limit:
		s.log.Info("SMTP mail refused: too large", "limit", limit)
		return smtpErr(552, [3]int{5, 3, 4}, fmt.Sprintf("Message larger than this server's limit of %d bytes", limit))
	case errors.Is(err, smtp.ErrTooLongLine):
		// Past go-smtp's own limit (smtpStreamLineLimit), which answers
		// at once and ends the connection.
		s.log.Info("SMTP mail refused: line too long", "limit", s.srv.smtp.MaxLineLength)
		return smtpErr(554, [3]int{5, 6, 0}, fmt.Sprintf("line longer than %d octets: encode the message "+
			"(quoted-printable or base64)", smtpMaxLineLength))
	case err != nil:
		s.log.Info("SMTP mail not received", "err", err)
		return smtpErr(451, [3]int{4, 3, 0}, "mail not received completely, try again")
	case s.conn != nil && s.conn.ended.Load():
		// The client's side ended while the mail came in: a BDAT chunk cut
		// short reads as complete (see smtpConn.ended). A whole mail is
		// never followed by a read before its reply, so this loses nothing
		// the client could have seen accepted.
		s.log.Info("SMTP mail not received", "err", "the connection ended during the mail", "bytes", len(body))
		return smtpErr(451, [3]int{4, 3, 0}, "mail not received completely, try again")
	}

	if !isBDAT(r) { // BDAT is never dot-stuffed (RFC 3030)
		body = unstuffBareLF(body)
	}
	if err := checkBody(body); err != nil {
		s.log.Info("SMTP mail refused", "reason", err)
		return err
	}
	body, mbox := stripMboxFrom(body)
	if mbox {
		s.log.Info("SMTP mail: the mbox \"From \" line before its header removed")
	}
	body, blind := stripBcc(body)
	if blind > 0 {
		s.log.Info("SMTP mail: Bcc fields removed before sealing", "fields", blind)
	}
	// A mail near the size limit, or whose copies are near the
	// transaction's, gets the fields that fit, rather than being refused
	// for what the server would add.
	room := limit
	if n := meshRcpts(rcpts); n > 0 {
		room = min(room, s.srv.cfg.MaxTransactionBytes/n)
	}
	if full, added := completeHeader(body, time.Now(), s.srv.cfg.From, room-int64(len(body))); len(added) > 0 {
		body = full
		s.log.Debug("SMTP mail: header fields added", "fields", added)
	}
	if meshRcpts(rcpts)*int64(len(body)) > s.srv.cfg.MaxTransactionBytes {
		// A client that gave no SIZE= learns only now.
		s.log.Info("SMTP mail refused: its copies would pass MaxTransactionBytes",
			"bytes", len(body), "recipients", meshRcpts(rcpts), "limit", s.srv.cfg.MaxTransactionBytes)
		return smtpErr(552, [3]int{5, 3, 4}, fmt.Sprintf("a mail of %d bytes to %d recipients is more than this server "+
			"seals at once (%d bytes): send it to at most %d recipients at a time",
			len(body), meshRcpts(rcpts), s.srv.cfg.MaxTransactionBytes, max(1, s.srv.cfg.MaxTransactionBytes/int64(max(1, len(body))))))
	}
	label := outboxLabel(body)
	var outs []mesh.Outgoing
	var plain []smtpRcpt
	for _, rc := range rcpts {
		if rc.plain {
			plain = append(plain, rc)
			continue
		}
		outs = append(outs, mesh.Outgoing{To: rc.res.Key, Body: body, Label: label,
			TTL: s.srv.cfg.TTL, Lifetime: s.srv.cfg.Lifetime})
	}
	var ids []envelope.ID
	if len(outs) > 0 {
		ids, err = s.srv.node.Submit(outs...)
		if err != nil {
			return s.submitError(err, len(outs), len(body))
		}
	}
	sent, failed := 0, 0
	for _, rc := range plain {
		if err := s.srv.cfg.Plain.SendMail(rc.res.Key, body); err != nil {
			if len(ids) == 0 && sent == 0 {
				s.log.Warn("SMTP mail to a plain Tox contact not sent", "key", rc.res.Key, "err", err)
				return smtpErr(451, [3]int{4, 4, 0}, "mail to a plain Tox contact not sent, try again later")
			}
			failed++
			s.log.Error("SMTP mail to a plain Tox contact lost after other copies were sent",
				"user", pop3Trunc(user), "key", rc.res.Key, "err", err)
			continue
		}
		sent++
	}
	short := make([]string, len(ids))
	for i, id := range ids {
		short[i] = id.Short()
	}
	s.log.Info("SMTP mail queued", "user", pop3Trunc(user), "envelopes", len(ids), "ids", short, "plain", sent, "plain_failed", failed, "bytes", len(body))
	return nil
}

// submitError maps a Submit failure to the reply. Submit wrote nothing.
func (s *smtpSession) submitError(err error, n, size int) error {
	switch {
	case errors.Is(err, mesh.ErrTooLarge):
		s.log.Info("SMTP mail refused by the node: too large", "bytes", size, "err", err)
		return errSMTPTooLarge
	case errors.Is(err, mesh.ErrBadMail):
		s.log.Error("SMTP mail refused by the node", "envelopes", n, "err", err)
		return smtpErr(554, [3]int{5, 6, 0}, "mail refused by the node: "+err.Error())
	}
	s.log.Error("SMTP mail not queued", "envelopes", n, "temporary", mesh.Temporary(err), "err", err)
	return errSMTPNotQueued
}

// Reset implements smtp.Session. go-smtp calls it after the reply to DATA
// (and at RSET and a new EHLO).
func (s *smtpSession) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.srv.endTransaction(s.conn)
}

func (s *smtpSession) resetLocked() {
	s.rcpts = nil
	s.inMail = false
	s.size = 0
	clear(s.keys)
}

// Logout implements smtp.Session.
func (s *smtpSession) Logout() error {
	s.log.Debug("SMTP session ended")
	return nil
}

// outboxLabel returns the outbox label of a mail: its Message-ID (or
// noMessageID when it has none) and, after a space, its Subject as written
// (see headerField), at most 255 bytes cut on a UTF-8 boundary. The dashboard
// shows it, and a non-delivery report names the mail by it (splitLabel).
func outboxLabel(body []byte) string {
	id, subject := headerField(body, "message-id"), headerField(body, "subject")
	if id == "" && subject != "" {
		id = strings.TrimSpace(noMessageID) // see splitLabel
	}
	label := strings.TrimSpace(id + " " + subject)
	if len(label) > 255 {
		cut := 255
		for cut > 0 && !utf8.RuneStart(label[cut]) {
			cut--
		}
		label = label[:cut]
	}
	return label
}

// meshRcpts counts the recipients that get a sealed copy (not the plain
// Tox contacts, who get the text).
func meshRcpts(rcpts []smtpRcpt) int64 {
	var n int64
	for _, r := range rcpts {
		if !r.plain {
			n++
		}
	}
	return n
}

// meshRcptsLocked is meshRcpts of the transaction's recipients so far.
func (s *smtpSession) meshRcptsLocked() int64 { return meshRcpts(s.rcpts) }
