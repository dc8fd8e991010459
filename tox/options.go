package tox

import (
	"fmt"
	"log/slog"
	"strings"
)

// ProxyType selects how TCP connections leave the host.
type ProxyType int

// Proxy types, with libtoxcore's numbering.
const (
	// ProxyNone connects directly.
	ProxyNone ProxyType = 0
	// ProxyHTTP tunnels TCP through an HTTP proxy with CONNECT.
	ProxyHTTP ProxyType = 1
	// ProxySOCKS5 tunnels TCP through a SOCKS5 proxy (e.g. Tor).
	ProxySOCKS5 ProxyType = 2
)

// String returns "none", "http" or "socks5".
func (p ProxyType) String() string {
	switch p {
	case ProxyNone:
		return "none"
	case ProxyHTTP:
		return "http"
	case ProxySOCKS5:
		return "socks5"
	}
	return fmt.Sprintf("ProxyType(%d)", int(p))
}

// Options configures a Tox instance. Start from DefaultOptions (a real
// node) or LoopbackOptions (tests and demos); the zero value turns
// everything off, including UDP.
type Options struct {
	// UDP enables UDP. Without it every connection goes through TCP relays
	// (AddTCPRelay). Default true. Must be false with a proxy, or UDP
	// traffic would bypass the proxy.
	UDP bool
	// IPv6 creates a dual-stack socket. Default true; false binds IPv4 only.
	IPv6 bool
	// LocalDiscovery broadcasts on the LAN to find peers. Default false in
	// toxmail (libtoxcore's default is true): a mail node should not
	// announce itself to every host on the network it happens to join.
	LocalDiscovery bool
	// HolePunching enables UDP hole punching through NATs. Default true.
	HolePunching bool
	// DHTAnnouncements lets the instance store and answer DHT
	// announcements (used by new-style group chats). Default true.
	DHTAnnouncements bool
	// StartPort and EndPort bound the UDP ports tried, inclusive. Both 0
	// means libtoxcore's default range 33445..33545; one 0 means just the
	// other port.
	StartPort, EndPort uint16
	// TCPPort, if non-zero, runs a TCP relay server on that port. Default 0
	// (off): relaying costs bandwidth.
	TCPPort uint16
	// Proxy, ProxyHost and ProxyPort route TCP through a proxy.
	Proxy     ProxyType
	ProxyHost string
	ProxyPort uint16
	// Savedata is a profile from Savedata or LoadProfile (decrypted). Empty
	// means a fresh identity with new keys.
	Savedata []byte
	// Callbacks receive events on the owner goroutine; see Callbacks.
	Callbacks Callbacks
	// Logger receives libtoxcore's own log at Debug level and below
	// (trace at Debug-4, debug at Debug, info at Debug+1, warning at
	// Debug+2, error at Debug+3); nil discards it. Secrets are never
	// logged.
	Logger *slog.Logger
}

// DefaultOptions returns the options of a real node: UDP and IPv6 on, hole
// punching and DHT announcements on, LAN discovery off (unlike
// libtoxcore), default port range, no TCP relay server, no proxy.
func DefaultOptions() Options {
	return Options{
		UDP:              true,
		IPv6:             true,
		LocalDiscovery:   false,
		HolePunching:     true,
		DHTAnnouncements: true,
	}
}

// LoopbackOptions returns options for tests and demos on 127.0.0.1: UDP on,
// IPv6, LAN discovery, hole punching and DHT announcements off, UDP ports
// 33445..33545. Bootstrap such instances only to each other or to a local
// tox-bootstrapd. libtoxcore 0.2.18 has no option for the address it binds,
// so the port is bound on every interface (0.0.0.0): such an instance sends
// only to 127.0.0.1, but it would receive what other hosts sent it, unless
// it runs in a loopback-only network namespace (as `make test` runs the
// tests).
func LoopbackOptions() Options {
	return Options{
		UDP:       true,
		StartPort: 33445,
		EndPort:   33545,
	}
}

// Validate checks the options for consistency; New calls it. Errors wrap
// ErrInvalid and name the field.
func (o Options) Validate() error {
	const op = "options"
	switch o.Proxy {
	case ProxyNone:
		if o.ProxyHost != "" || o.ProxyPort != 0 {
			return invalidf(op, "ProxyHost/ProxyPort set but Proxy is none")
		}
	case ProxyHTTP, ProxySOCKS5:
		if o.ProxyHost == "" {
			return invalidf(op, "Proxy %s needs ProxyHost", o.Proxy)
		}
		if len(o.ProxyHost) >= MaxHostnameLength || strings.IndexByte(o.ProxyHost, 0) >= 0 {
			return invalidf(op, "ProxyHost must be 1..%d bytes without NUL", MaxHostnameLength-1)
		}
		if o.ProxyPort == 0 {
			return invalidf(op, "Proxy %s needs ProxyPort 1..65535", o.Proxy)
		}
		if o.UDP {
			return invalidf(op, "Proxy %s needs UDP off, or UDP traffic would bypass the proxy", o.Proxy)
		}
	default:
		return invalidf(op, "Proxy %d is not none, http or socks5", int(o.Proxy))
	}
	if len(o.Savedata) > 0 {
		if IsEncrypted(o.Savedata) {
			return rejectf(op, ErrEncrypted, "Savedata is encrypted: decrypt it with LoadProfile first")
		}
		return checkSavedata(o.Savedata)
	}
	return nil
}
