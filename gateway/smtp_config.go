package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// Defaults of SMTPConfig; a zero field means its default. The default
// MaxMessageBytes is LargestSealableBody(mesh.DefaultConfig().MaxEnvelopeSize).
const (
	DefaultSMTPAddr          = "127.0.0.1:1025"
	DefaultSMTPDomain        = "toxmail.local"
	DefaultSMTPMaxRecipients = 100
	// DefaultSMTPMaxTransactionBytes is the default of
	// SMTPConfig.MaxTransactionBytes.
	DefaultSMTPMaxTransactionBytes = 256 << 20
	DefaultSMTPReadTimeout         = 5 * time.Minute
	DefaultSMTPWriteTimeout        = 5 * time.Minute
	DefaultSMTPMaxConns            = 64
)

// Limits of SMTPConfig fields.
const (
	smtpMaxRecipientsLimit = 10000
	smtpMaxTimeout         = time.Hour
	smtpMaxDomain          = 255
	smtpMaxUserName        = 255
	smtpMaxTTL             = 64 // mesh's largest MaxHops
	smtpMaxLifetime        = 365 * 24 * time.Hour
	smtpMinLifetime        = time.Minute
	passwordMaxBytes       = 72 // bcrypt ignores what follows
)

// PlainSender is the extension point for recipients that are plain Tox
// contacts: friends running an ordinary Tox client (qTox, uTox, toxic) that
// only shows text messages and cannot open envelopes. Such a friend is not
// reached through the mesh; SendMail delivers the mail directly (typically
// as text messages over the friend connection, which is the PlainSender's
// business: chunking, queueing while the friend is offline, and so on).
//
// At RCPT the server asks IsPlain of each resolved key; at DATA it first
// submits the copies for mesh recipients (atomically, see Submitter) and
// only then calls SendMail once per plain recipient, with the mail exactly
// as the client submitted it. raw is shared: SendMail must not modify it or
// keep it after returning.
//
// SMTP DATA has one reply for all recipients, so a SendMail failure can be
// reported only while nothing has been handed over yet: if it is the first
// copy of the mail (no mesh recipients, no plain copy sent), the client is
// told 451 and tries again later; otherwise the mail is accepted and the
// failure is logged at Error level. A PlainSender should therefore take
// responsibility for the mail (queue it durably) rather than fail when a
// friend is merely offline. Both methods are called from many sessions at
// once.
type PlainSender interface {
	IsPlain(key envelope.PublicKey) bool
	SendMail(key envelope.PublicKey, raw []byte) error
}

// SMTPConfig configures an SMTPServer. Every zero field takes the default
// named after it; Validate reports the first field out of range.
type SMTPConfig struct {
	// SpaceCheck, if set, is asked at each MAIL command whether there is
	// room to take a mail; an error is answered 452 4.3.1 (insufficient
	// storage: try again later) with its text.
	SpaceCheck func() error

	// Addr is the TCP address ListenAndServe binds. Default
	// "127.0.0.1:1025": the mail client runs on the same machine.
	//
	// The server has no TLS and accepts AUTH PLAIN and LOGIN in the clear
	// (go-smtp's AllowInsecureAuth), which is safe only because nothing
	// leaves the machine. Validate refuses an address that is not
	// loopback (an IP in 127.0.0.0/8 or ::1, or "localhost") unless
	// AllowRemote is set.
	Addr string

	// AllowRemote lets Addr be a non-loopback address (or ":1025", all
	// interfaces). RISK: passwords then cross the network in base64, the
	// mail itself in the clear, before it is sealed; anyone on the path
	// can read both, and anyone who can reach the port can guess
	// passwords. Set it only for a network you trust as much as loopback,
	// or behind a TLS-terminating tunnel.
	AllowRemote bool

	// Domain is the server's name in its greeting and EHLO reply. Default
	// "toxmail.local". 1 to 255 printable ASCII characters, no spaces.
	Domain string

	// Users maps each user name to the bcrypt hash of its password (from
	// HashPassword, e.g. via the CLI). Every mail needs AUTH as one of
	// them; MAIL before AUTH is answered 530 5.7.0. At least one user;
	// names are 1 to 255 bytes of printable ASCII (no spaces, no NUL).
	Users map[string]string

	// MaxMessageBytes is the largest mail accepted, in bytes as submitted
	// (CRLF line ends, after dot-unstuffing), advertised in EHLO as SIZE.
	// A larger SIZE= at MAIL, or a larger body at DATA, is answered
	// 552 5.3.4. Default: the largest mail that fits one envelope,
	// LargestSealableBody(MaxEnvelopeSize) of the node's mesh.Config when
	// NewSMTPServer is given a *mesh.Node, of mesh.DefaultConfig()
	// otherwise. Range [1, LargestSealableBody(envelope.HeaderSize+
	// envelope.MaxCiphertext)]. A larger value than the node's limit is
	// allowed, but such mail is then refused (552) after DATA.
	//
	// go-smtp v0.25.1's DATA reader stops at MaxMessageBytes before it can
	// see the end-of-data marker, so over DATA the largest body accepted
	// is MaxMessageBytes-1 bytes (BDAT takes MaxMessageBytes exactly).
	MaxMessageBytes int64

	// MaxRecipients is the most RCPT per mail; past it RCPT is answered
	// 452 4.5.3. Each recipient costs one envelope. Default 100 (RFC 5321
	// §4.5.3.1.8), range [1, 10000].
	MaxRecipients int

	// MaxTransactionBytes bounds what one mail may cost in envelopes:
	// its size times its mesh recipients, each of whom gets a sealed copy,
	// all held in memory until they are stored together. A RCPT past it is
	// answered 452 4.5.3 when MAIL gave SIZE= (a client then sends the
	// mail to the rest in another transaction, RFC 5321 §3.3), and DATA
	// past it 552 5.3.4. Default 256 MiB (32 recipients of a mail at
	// the default size limit), range [MaxMessageBytes, 64 GiB].
	MaxTransactionBytes int64

	// MaxConnections is how many connections may be open at once; past
	// it a new connection is answered 421 4.7.0 and closed (each open
	// connection may hold a mail of MaxMessageBytes in memory). Default
	// 64, range [1, 10000].
	MaxConnections int

	// MaxAuthFailures is how many failed logins one connection gets before
	// it is answered 421 4.7.0 and closed. Default 3, range [1, 100].
	MaxAuthFailures int
	// AuthFailureDelay is the wait before answering a failed login,
	// multiplied by the connection's failures so far, or, if longer, the
	// delay LoginFailures gives the user name's recent failures on every
	// connection (doubling up to 30 s; the name's passwords are checked
	// one at a time, turns spaced that far apart). Default 1 s;
	// negative turns it off (tests); range up to 30 s.
	AuthFailureDelay time.Duration

	// Failures, if set, is the record of failed logins, shared with the
	// POP3 server (POP3Config.Failures). Nil: the server keeps its own.
	Failures *LoginFailures

	// ReadTimeout bounds each command read (and the DATA that follows
	// it); WriteTimeout each reply. Past them the connection is closed.
	// Default 5 minutes each, range (0, 1h].
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// TTL is the hop limit given to the envelopes, 0 for the node's
	// mesh.Config.TTL. Range [0, 64]; the node refuses more than its
	// MaxHops (554 5.6.0).
	TTL uint8

	// Lifetime is how long the envelopes live before they expire
	// undelivered, 0 for the node's mesh.Config.Lifetime. Range 0 or
	// [1m, 365 days]; the node refuses more than its MaxLifetime.
	Lifetime time.Duration

	// Plain, if set, takes the copies for plain Tox contacts; see
	// PlainSender. Nil: every recipient gets an envelope.
	Plain PlainSender

	// From is put in a From field of a mail that has none (RFC 5322
	// requires one; RFC 6409 §8 lets a submission server complete a
	// message), as RFC 5322 writes an address, in ASCII: the daemon gives
	// the node's own (OwnFrom), which the recipient's From check ties to
	// the sender's key. Without it such a mail shows no sender. Empty:
	// none is added.
	From string

	// Logger receives the server's log. Passwords and mail bodies are
	// never logged; recipients' addresses only at Debug level. Nil
	// discards.
	Logger *slog.Logger
}

// DefaultSMTPConfig returns the configuration with every default filled
// in. It has no Users yet: add at least one before NewSMTPServer.
func DefaultSMTPConfig() SMTPConfig {
	return SMTPConfig{
		Addr:                DefaultSMTPAddr,
		Domain:              DefaultSMTPDomain,
		MaxMessageBytes:     LargestSealableBody(mesh.DefaultConfig().MaxEnvelopeSize),
		MaxRecipients:       DefaultSMTPMaxRecipients,
		MaxTransactionBytes: DefaultSMTPMaxTransactionBytes,
		MaxConnections:      DefaultSMTPMaxConns,
		ReadTimeout:         DefaultSMTPReadTimeout,
		WriteTimeout:        DefaultSMTPWriteTimeout,
	}
}

// LargestSealableBody returns the largest mail, in bytes, whose envelope
// (envelope.SealedSize) fits in maxEnvelopeSize bytes, or 0 if not even an
// empty one does. The envelope holds the mail exactly as submitted.
func LargestSealableBody(maxEnvelopeSize int) int64 {
	if envelope.SealedSize(0) > maxEnvelopeSize {
		return 0
	}
	// SealedSize grows with n and exceeds n, so the answer is below
	// maxEnvelopeSize.
	lo, hi := 0, maxEnvelopeSize
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if envelope.SealedSize(mid) <= maxEnvelopeSize {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return int64(lo)
}

// smtpMaxMessageLimit is the largest MaxMessageBytes: what seals into the
// largest envelope the format allows.
func smtpMaxMessageLimit() int64 {
	return LargestSealableBody(envelope.HeaderSize + envelope.MaxCiphertext)
}

// withDefaults returns c with every zero field set to its default.
func (c SMTPConfig) withDefaults() SMTPConfig {
	d := DefaultSMTPConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.Domain == "" {
		c.Domain = d.Domain
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = d.MaxMessageBytes
	}
	if c.MaxRecipients == 0 {
		c.MaxRecipients = d.MaxRecipients
	}
	if c.MaxTransactionBytes == 0 {
		c.MaxTransactionBytes = max(d.MaxTransactionBytes, c.MaxMessageBytes)
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = d.MaxConnections
	}
	if c.MaxAuthFailures == 0 {
		c.MaxAuthFailures = 3
	}
	if c.AuthFailureDelay == 0 {
		c.AuthFailureDelay = time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	return c
}

// Validate checks c after filling in defaults and names the first field
// out of range.
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("gateway: SMTPConfig.Addr %q: want host:port: %v", c.Addr, err)
	}
	if !c.AllowRemote && !isLoopbackHost(host) {
		return fmt.Errorf("gateway: SMTPConfig.Addr %q is not a loopback address: the SMTP server has no TLS and "+
			"takes passwords in the clear; listen on 127.0.0.1, or set AllowRemote if you accept that risk", c.Addr)
	}
	switch {
	case c.MaxMessageBytes < 1 || c.MaxMessageBytes > smtpMaxMessageLimit():
		return fmt.Errorf("gateway: SMTPConfig.MaxMessageBytes %d out of range [1, %d]", c.MaxMessageBytes, smtpMaxMessageLimit())
	case c.MaxRecipients < 1 || c.MaxRecipients > smtpMaxRecipientsLimit:
		return fmt.Errorf("gateway: SMTPConfig.MaxRecipients %d out of range [1, %d]", c.MaxRecipients, smtpMaxRecipientsLimit)
	case c.MaxTransactionBytes < c.MaxMessageBytes || c.MaxTransactionBytes > 64<<30:
		return fmt.Errorf("gateway: SMTPConfig.MaxTransactionBytes %d out of range [MaxMessageBytes (%d), 64 GiB]", c.MaxTransactionBytes, c.MaxMessageBytes)
	case c.MaxConnections < 1 || c.MaxConnections > 10000:
		return fmt.Errorf("gateway: SMTPConfig.MaxConnections %d out of range [1, 10000]", c.MaxConnections)
	case c.MaxAuthFailures < 1 || c.MaxAuthFailures > 100:
		return fmt.Errorf("gateway: SMTPConfig.MaxAuthFailures %d out of range [1, 100]", c.MaxAuthFailures)
	case c.AuthFailureDelay > 30*time.Second:
		return fmt.Errorf("gateway: SMTPConfig.AuthFailureDelay %v out of range (up to 30s; negative: none)", c.AuthFailureDelay)
	case c.ReadTimeout < 0 || c.ReadTimeout > smtpMaxTimeout:
		return fmt.Errorf("gateway: SMTPConfig.ReadTimeout %v out of range (0, 1h]", c.ReadTimeout)
	case c.WriteTimeout < 0 || c.WriteTimeout > smtpMaxTimeout:
		return fmt.Errorf("gateway: SMTPConfig.WriteTimeout %v out of range (0, 1h]", c.WriteTimeout)
	case c.TTL > smtpMaxTTL:
		return fmt.Errorf("gateway: SMTPConfig.TTL %d out of range [0, %d] (0: the node's TTL)", c.TTL, smtpMaxTTL)
	case c.Lifetime != 0 && (c.Lifetime < smtpMinLifetime || c.Lifetime > smtpMaxLifetime):
		return fmt.Errorf("gateway: SMTPConfig.Lifetime %v out of range: 0 (the node's Lifetime) or [1m, 8760h]", c.Lifetime)
	}
	if err := smtpCheckToken(c.Domain, smtpMaxDomain); err != nil {
		return fmt.Errorf("gateway: SMTPConfig.Domain: %w", err)
	}
	if c.From != "" {
		if strings.ContainsAny(c.From, "\r\n") {
			return errors.New("gateway: SMTPConfig.From has a line break")
		}
		for i := 0; i < len(c.From); i++ {
			if c.From[i] >= 0x80 {
				return fmt.Errorf("gateway: SMTPConfig.From %q is not ASCII: RFC 2047-encode its name (OwnFrom does)", c.From)
			}
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			return fmt.Errorf("gateway: SMTPConfig.From %q is not an address: %w", c.From, err)
		}
	}
	return c.validateUsers()
}

// validateUsers checks c.Users: at least one, each with a valid name and
// bcrypt hash.
func (c SMTPConfig) validateUsers() error {
	if len(c.Users) == 0 {
		return errors.New("gateway: SMTPConfig.Users is empty: add a user with a bcrypt password hash (HashPassword); " +
			"the server accepts mail only after AUTH")
	}
	for user, hash := range c.Users {
		if err := smtpCheckToken(user, smtpMaxUserName); err != nil {
			return fmt.Errorf("gateway: SMTPConfig.Users: user name %q: %w", user, err)
		}
		if err := CheckPasswordHash(hash); err != nil {
			return fmt.Errorf("gateway: SMTPConfig.Users[%q]: %w", user, err)
		}
	}
	return nil
}

// isLoopbackHost reports whether host names only this machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// smtpCheckToken accepts 1 to max printable ASCII characters without spaces.
func smtpCheckToken(s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%d characters, want 1 to %d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] > 0x7e {
			return fmt.Errorf("character %q at %d is not printable ASCII without spaces", s[i], i)
		}
	}
	return nil
}

// MaxPasswordCost is the highest bcrypt cost a password hash may have.
// Every login is checked at the highest cost configured (an unknown user
// too, so that timing does not tell who exists), and each step doubles the
// work: HashPassword's cost 10 takes tens of milliseconds, 15 about a
// second or two, and the format's maximum, 31, days.
const MaxPasswordCost = 15

// bcryptHashLen is the length of a bcrypt hash: "$2a$10$", 22 characters
// of salt and 31 of hash.
const bcryptHashLen = 60

// CheckPasswordHash checks that hash is a bcrypt hash, whole, with a cost
// of at most MaxPasswordCost.
func CheckPasswordHash(hash string) error {
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return fmt.Errorf("not a bcrypt hash (toxmail passwd makes one): %v", err)
	}
	if len(hash) != bcryptHashLen {
		// bcrypt.Cost reads only the prefix: a hash cut short would pass,
		// and no password would ever match it.
		return fmt.Errorf("not a bcrypt hash: %d characters, where a bcrypt hash has %d (was it cut short when copied?); toxmail passwd makes one",
			len(hash), bcryptHashLen)
	}
	if cost > MaxPasswordCost {
		return fmt.Errorf("bcrypt cost %d is too slow: each login would take %d times as long as at cost %d, which toxmail passwd uses; want %d..%d",
			cost, 1<<(cost-bcrypt.DefaultCost), bcrypt.DefaultCost, bcrypt.MinCost, MaxPasswordCost)
	}
	return nil
}

// HashPassword returns the bcrypt hash (at bcrypt.DefaultCost) of a
// password, for SMTPConfig.Users. Passwords are 1 to 72 bytes: bcrypt would
// silently ignore the rest.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("gateway: empty password")
	}
	if len(password) > passwordMaxBytes {
		return "", fmt.Errorf("gateway: password of %d bytes is too long: bcrypt uses at most %d", len(password), passwordMaxBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("gateway: hashing password: %w", err)
	}
	return string(h), nil
}

// smtpAuth checks SMTP logins against the configured bcrypt hashes.
type smtpAuth struct {
	users map[string][]byte
	dummy []byte // a hash of a random password, compared for unknown users
}

// known reports whether name is a user's.
func (a *smtpAuth) known(name string) bool {
	_, ok := a.users[name]
	return ok
}

// newSMTPAuth copies users and makes the dummy hash at the highest cost
// among them, so that an unknown user takes as long as the slowest known one.
func newSMTPAuth(users map[string]string) (*smtpAuth, error) {
	a := &smtpAuth{users: make(map[string][]byte, len(users))}
	cost := bcrypt.MinCost
	for u, h := range users {
		a.users[u] = []byte(h)
		if c, err := bcrypt.Cost([]byte(h)); err == nil {
			cost = max(cost, c)
		}
	}
	var pw [32]byte
	rand.Read(pw[:])
	dummy, err := bcrypt.GenerateFromPassword(fmt.Appendf(nil, "%x", pw[:16]), cost)
	if err != nil {
		return nil, fmt.Errorf("gateway: SMTP dummy hash: %w", err)
	}
	a.dummy = dummy
	return a, nil
}

// check reports whether pass is user's password. It runs one bcrypt
// comparison whether or not the user exists, so that timing tells little
// about which user names exist.
func (a *smtpAuth) check(user, pass string) bool {
	hash, known := a.users[user]
	if !known {
		hash = a.dummy
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	return known && err == nil
}
