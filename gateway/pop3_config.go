package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults of POP3Config; a zero field means its default.
const (
	DefaultPOP3Addr             = "127.0.0.1:1110"
	DefaultPOP3IdleTimeout      = 10 * time.Minute // RFC 1939: at least 10 minutes
	DefaultPOP3MaxBadCommands   = 10
	DefaultPOP3MaxAuthFailures  = 3
	DefaultPOP3AuthFailureDelay = time.Second
	DefaultPOP3MaxLineLength    = 255 // RFC 2449, including CRLF
	DefaultPOP3MaxConnections   = 64
	DefaultPOP3Greeting         = "toxmail POP3 server ready"
	DefaultPOP3Implementation   = "toxmail"
)

// pop3SASLLineLength is the longest AUTH response line accepted, with its
// CRLF: twice as long as needed for base64 of two 128-octet identities (the
// longest user name the config takes) and a 72-octet password (bcrypt's
// limit), 440 octets.
const pop3SASLLineLength = 1024

// POP3Config configures a POP3Server. Every zero field takes the default
// named after it; Validate reports the first field out of range.
type POP3Config struct {
	// Addr is the TCP address ListenAndServe binds. Default
	// "127.0.0.1:1110": mail clients run on the same machine, and POP3
	// here has no TLS, so it should stay on loopback.
	Addr string
	// AllowRemote permits a non-loopback Addr. The server has no TLS and
	// takes passwords in the clear: only set it on a network you trust.
	AllowRemote bool

	// IdleTimeout is the autologout timer: how long the server waits for
	// each command (and for a client to accept each part of a response)
	// before it closes the connection without entering UPDATE. RFC 1939
	// asks for at least 10 minutes, the default; tests use less.
	// Range: (0, 24h].
	IdleTimeout time.Duration

	// MaxBadCommands is how many malformed, unknown or out-of-state
	// commands (and over-long lines) a connection may send; the last one
	// is answered "-ERR too many bad commands" and the connection closed.
	// Default 10, range [1, 1000].
	MaxBadCommands int

	// MaxAuthFailures is how many failed logins (PASS or AUTH) a
	// connection may make; the last one closes it. Default 3, range
	// [1, 100].
	MaxAuthFailures int

	// AuthFailureDelay is how long a failed login waits before its -ERR,
	// doubled for each recent failure of the same user name (at most
	// 30 s), to slow down password guessing; the name's passwords are
	// checked one at a time, turns spaced that far apart (see
	// LoginFailures). Default 1 s; negative means no delay. Range: at
	// most 1 minute.
	AuthFailureDelay time.Duration

	// Failures, if set, is the record of failed logins, shared with the
	// SMTP server (SMTPConfig.Failures) so that guessing a password by
	// either server slows both. Nil: the server keeps its own.
	Failures *LoginFailures

	// KnownUser reports whether a name is a user's. Logs of refused and
	// failed logins name a user only if it is one: a name that is not may
	// be a password typed into the wrong field. nil: no name is logged.
	KnownUser func(name string) bool

	// MaxLineLength is the longest command line accepted, in octets
	// including CRLF. Longer lines are discarded up to their end and
	// answered "-ERR line too long". RFC 2449 lets clients send 255, the
	// default. Range [255, 65536].
	MaxLineLength int

	// MaxConnections is how many sessions may be open at once; past it a
	// new connection is answered "-ERR [SYS/TEMP] too many connections"
	// and closed. Default 64, range [1, 65536].
	MaxConnections int

	// Logger receives the server's log. Passwords and AUTH data are never
	// logged. Nil discards.
	Logger *slog.Logger

	// Greeting follows "+OK " in the greeting. Printable ASCII, at most
	// 200 characters. Default "toxmail POP3 server ready".
	Greeting string

	// Implementation is announced in CAPA's IMPLEMENTATION line. Printable
	// ASCII, at most 200 characters. Default "toxmail".
	Implementation string
}

// DefaultPOP3Config returns the configuration with every default filled in.
func DefaultPOP3Config() POP3Config {
	return POP3Config{
		Addr:             DefaultPOP3Addr,
		IdleTimeout:      DefaultPOP3IdleTimeout,
		MaxBadCommands:   DefaultPOP3MaxBadCommands,
		MaxAuthFailures:  DefaultPOP3MaxAuthFailures,
		AuthFailureDelay: DefaultPOP3AuthFailureDelay,
		MaxLineLength:    DefaultPOP3MaxLineLength,
		MaxConnections:   DefaultPOP3MaxConnections,
		Greeting:         DefaultPOP3Greeting,
		Implementation:   DefaultPOP3Implementation,
	}
}

// withDefaults returns c with every zero field set to its default.
func (c POP3Config) withDefaults() POP3Config {
	d := DefaultPOP3Config()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.MaxBadCommands == 0 {
		c.MaxBadCommands = d.MaxBadCommands
	}
	if c.MaxAuthFailures == 0 {
		c.MaxAuthFailures = d.MaxAuthFailures
	}
	if c.AuthFailureDelay == 0 {
		c.AuthFailureDelay = d.AuthFailureDelay
	}
	if c.MaxLineLength == 0 {
		c.MaxLineLength = d.MaxLineLength
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = d.MaxConnections
	}
	if c.Greeting == "" {
		c.Greeting = d.Greeting
	}
	if c.Implementation == "" {
		c.Implementation = d.Implementation
	}
	return c
}

// Validate checks c after filling in defaults and names the first field
// out of range.
func (c POP3Config) Validate() error {
	c = c.withDefaults()
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("gateway: POP3Config.Addr %q: want host:port: %v", c.Addr, err)
	}
	if !c.AllowRemote && !isLoopbackHost(host) {
		return fmt.Errorf("gateway: POP3Config.Addr %q is not a loopback address: the POP3 server has no TLS and "+
			"takes passwords in the clear; listen on 127.0.0.1, or set AllowRemote if you accept that risk", c.Addr)
	}
	switch {
	case c.IdleTimeout < 0 || c.IdleTimeout > 24*time.Hour:
		return fmt.Errorf("gateway: POP3Config.IdleTimeout %v out of range (0, 24h]", c.IdleTimeout)
	case c.MaxBadCommands < 1 || c.MaxBadCommands > 1000:
		return fmt.Errorf("gateway: POP3Config.MaxBadCommands %d out of range [1, 1000]", c.MaxBadCommands)
	case c.MaxAuthFailures < 1 || c.MaxAuthFailures > 100:
		return fmt.Errorf("gateway: POP3Config.MaxAuthFailures %d out of range [1, 100]", c.MaxAuthFailures)
	case c.AuthFailureDelay > time.Minute:
		return fmt.Errorf("gateway: POP3Config.AuthFailureDelay %v over 1m (negative means no delay)", c.AuthFailureDelay)
	case c.MaxLineLength < 255 || c.MaxLineLength > 65536:
		return fmt.Errorf("gateway: POP3Config.MaxLineLength %d out of range [255, 65536]", c.MaxLineLength)
	case c.MaxConnections < 1 || c.MaxConnections > 65536:
		return fmt.Errorf("gateway: POP3Config.MaxConnections %d out of range [1, 65536]", c.MaxConnections)
	}
	if err := pop3CheckText(c.Greeting); err != nil {
		return fmt.Errorf("gateway: POP3Config.Greeting: %w", err)
	}
	if err := pop3CheckText(c.Implementation); err != nil {
		return fmt.Errorf("gateway: POP3Config.Implementation: %w", err)
	}
	return nil
}

// pop3CheckText accepts 1 to 200 printable ASCII characters.
func pop3CheckText(s string) error {
	if len(s) > 200 {
		return fmt.Errorf("%d characters, want at most 200", len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("character %q at %d is not printable ASCII", s[i], i)
		}
	}
	return nil
}
