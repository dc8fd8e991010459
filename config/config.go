// Package config reads and writes toxmail.toml, the one file a user edits to
// configure a node: Tox, the mesh, the SMTP, POP3 and dashboard servers, DNS,
// logging and the simulator.
//
// Defaults come from one place: Default takes every value from the owning
// package's own default constructor (mesh.DefaultConfig, tox.DefaultOptions,
// gateway.DefaultSMTPConfig, sim.DefaultConfig, ...), so this package never
// restates a number another package defines. Template writes a complete,
// commented file for a Config; Parse and Load read one back strictly: an
// unknown key, a value of the wrong type or out of range is an *Error that
// names the file, the line and the key.
//
// The address book lives next to the config, in data_dir/contacts.toml; see
// LoadContacts and SaveContacts.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
	"github.com/toxmail/toxmail/sim"
	"github.com/toxmail/toxmail/tox"
)

// FileName is the config file's usual name; `toxmail init` writes
// DIR/toxmail.toml.
const FileName = "toxmail.toml"

// MaxUserName is the longest SMTP and POP3 user name: "USER name" has to
// fit a 255-octet POP3 command line (RFC 2449).
const MaxUserName = 128

// Config is the whole of toxmail.toml. Start from Default; Parse and Load
// fill it from a file and Validate checks it. Every field holds a Go value
// (durations are time.Duration, sizes are bytes).
type Config struct {
	// DataDir is where the node keeps its state: the Tox profile, the mesh
	// store, the mailbox and contacts.toml. Parse and Load make it absolute,
	// relative to the directory of the config file. Default ".".
	DataDir string
	// Name is the nickname Tox friends see. Default "toxmail"; at most
	// tox.MaxNameLength bytes of UTF-8.
	Name string

	Mesh      mesh.Config // [mesh]: the gossip engine, one to one
	Tox       Tox         // [tox]
	SMTP      SMTP        // [smtp]
	POP3      POP3        // [pop3]
	Dashboard Dashboard   // [dashboard]
	DNS       DNS         // [dns]
	Log       Log         // [log]
	Sim       sim.Config  // [sim]: the simulator's study, one to one

	// Path is the file the config came from ("" for Default). It is not a
	// key of the file.
	Path string
}

// Tox is the [tox] section: the Tox instance and its network.
type Tox struct {
	// UDP enables UDP; without it every connection goes through TCP
	// relays. Must be off with a proxy. Default from tox.DefaultOptions.
	UDP bool
	// IPv6 creates a dual-stack socket. Default from tox.DefaultOptions.
	IPv6 bool
	// LANDiscovery broadcasts on the local network to find peers. Default
	// from tox.DefaultOptions (off).
	LANDiscovery bool
	// HolePunching enables UDP hole punching through NATs.
	HolePunching bool
	// DHTAnnouncements lets the instance store and answer DHT
	// announcements (used by new-style group chats).
	DHTAnnouncements bool
	// UDPPortStart and UDPPortEnd bound the UDP ports tried, inclusive.
	// Both 0 means libtoxcore's default range; one 0 means just the other.
	UDPPortStart, UDPPortEnd uint16
	// TCPPort, if not 0, runs a TCP relay server on that port.
	TCPPort uint16
	// Proxy, ProxyHost and ProxyPort route TCP through a proxy.
	Proxy     tox.ProxyType
	ProxyHost string
	ProxyPort uint16
	// FriendRequests decides what happens to friend requests. Default the
	// zero tox.TransportConfig's policy (tox.AcceptKnown).
	FriendRequests tox.RequestPolicy
	// Profile is the Tox profile (keys and friends), a file name relative
	// to DataDir unless absolute. Default "toxmail.tox".
	Profile string
	// Bootstrap lists the DHT nodes the instance first asks for peers.
	// Empty by default: no public node is built in.
	Bootstrap []BootstrapNode
}

// BootstrapNode is one [[tox.bootstrap]] entry.
type BootstrapNode struct {
	Host      string        // an IP literal or a host name
	Port      uint16        // its UDP port
	TCPPort   uint16        // its TCP relay port; 0 means Port
	PublicKey tox.PublicKey // its DHT public key (64 hex digits in the file)
}

// RelayPort is the node's TCP relay port: TCPPort, or Port if that is 0.
func (b BootstrapNode) RelayPort() uint16 {
	if b.TCPPort != 0 {
		return b.TCPPort
	}
	return b.Port
}

// SMTP is the [smtp] section: the submission server mail clients send to.
type SMTP struct {
	// Listen is the TCP address. Default gateway.DefaultSMTPAddr.
	Listen string
	// Domain is the server's name in its greeting. Default
	// gateway.DefaultSMTPDomain.
	Domain string
	// MaxMessageBytes is the largest mail accepted; 0 means the largest
	// that fits one envelope of Mesh.MaxEnvelopeSize (the default).
	MaxMessageBytes int64
	// MaxRecipients is the most recipients per mail. Default
	// gateway.DefaultSMTPMaxRecipients.
	MaxRecipients int
	// AllowRemote lets Listen be a non-loopback address. Default false.
	AllowRemote bool
	// NonDeliveryReports puts a report in the inbox for each mail the
	// user sent that expires undelivered (gateway.Mailbox.ReportExpired).
	// Default true.
	NonDeliveryReports bool
	// Users may log in over SMTP and POP3, in file order.
	Users []User
}

// User is one [[smtp.users]] entry.
type User struct {
	Name string
	// PasswordHash is a bcrypt hash, as gateway.HashPassword makes.
	PasswordHash string
}

// POP3 is the [pop3] section: the server mail clients fetch from. Its
// logins are SMTP.Users.
type POP3 struct {
	Listen      string        // default gateway.DefaultPOP3Addr
	AllowRemote bool          // lets Listen be non-loopback
	IdleTimeout time.Duration // default gateway.DefaultPOP3IdleTimeout
	// MaxMailboxBytes is the inbox's quota (inbox.Options.Quota): past it,
	// mail from others waits in the network until mail is deleted. 0 means
	// no limit. Default DefaultMaxMailboxBytes.
	MaxMailboxBytes int64
}

// DefaultMaxMailboxBytes is the default inbox quota, pop3.max_mailbox_bytes.
const DefaultMaxMailboxBytes = 4 << 30

// LargestStoredMail is the most bytes one mail from the mesh can take in
// the inbox when envelopes are at most maxEnvelope bytes: any body such an
// envelope carries, twice over (delivery makes every line ending CRLF,
// which at worst doubles a mail of bare LFs), and its delivery headers.
// The inbox's per-mail limit is at least this, and a quota at least this
// always takes a mail into an empty inbox.
func LargestStoredMail(maxEnvelope int) int64 { return 2*int64(maxEnvelope) + 64<<10 }

// Dashboard is the [dashboard] section: the local web dashboard.
type Dashboard struct {
	Listen      string // default gateway.DefaultDashboardAddr
	Token       string // the login secret; required by Parse and Load
	AllowRemote bool   // lets Listen be non-loopback
}

// DNS is the [dns] section: tox1 lookups of name@domain recipients.
type DNS struct {
	// Server is the resolver asked, "HOST:PORT"; "" means the system's.
	Server string
	// Timeout bounds each query. Default gateway.DefaultDNSTimeout.
	Timeout time.Duration
	// The answer cache's bounds, as in gateway.DNSCacheConfig.
	CacheMinTTL, CacheMaxTTL         time.Duration
	CacheNegativeTTL, CacheMaxNegTTL time.Duration
	CacheMaxEntries                  int
}

// Log is the [log] section.
type Log struct {
	// Level is the least severe record written: slog.LevelDebug, Info, Warn
	// or Error. Default Info.
	Level slog.Level
	// Format is "text" (default) or "json".
	Format string
}

// Defaults of this package's own knobs, which no other package owns.
const (
	DefaultName    = "toxmail"
	DefaultDataDir = "."
	DefaultProfile = "toxmail.tox"
	// ContactsFile is the address book's name inside DataDir.
	ContactsFile = "contacts.toml"
)

// Default returns the defaults, each taken from the package that owns the
// knob. It has no SMTP user and no dashboard token: `toxmail init` adds
// them (Parse and Load refuse a file without a token).
func Default() Config {
	o := tox.DefaultOptions()
	s := gateway.DefaultSMTPConfig()
	p := gateway.DefaultPOP3Config()
	d := gateway.DefaultDNSCacheConfig()
	return Config{
		DataDir: DefaultDataDir,
		Name:    DefaultName,
		Mesh:    mesh.DefaultConfig(),
		Tox: Tox{
			UDP:              o.UDP,
			IPv6:             o.IPv6,
			LANDiscovery:     o.LocalDiscovery,
			HolePunching:     o.HolePunching,
			DHTAnnouncements: o.DHTAnnouncements,
			UDPPortStart:     o.StartPort,
			UDPPortEnd:       o.EndPort,
			TCPPort:          o.TCPPort,
			Proxy:            o.Proxy,
			ProxyHost:        o.ProxyHost,
			ProxyPort:        o.ProxyPort,
			FriendRequests:   tox.TransportConfig{}.Policy,
			Profile:          DefaultProfile,
		},
		SMTP: SMTP{
			Listen:             s.Addr,
			Domain:             s.Domain,
			MaxRecipients:      s.MaxRecipients,
			AllowRemote:        s.AllowRemote,
			NonDeliveryReports: true,
		},
		POP3: POP3{
			Listen:          p.Addr,
			AllowRemote:     p.AllowRemote,
			IdleTimeout:     p.IdleTimeout,
			MaxMailboxBytes: DefaultMaxMailboxBytes,
		},
		Dashboard: Dashboard{
			Listen: gateway.DefaultDashboardAddr,
		},
		DNS: DNS{
			Timeout:          gateway.DefaultDNSTimeout,
			CacheMinTTL:      d.MinTTL,
			CacheMaxTTL:      d.MaxTTL,
			CacheNegativeTTL: d.NegativeTTL,
			CacheMaxNegTTL:   d.MaxNegativeTTL,
			CacheMaxEntries:  d.MaxEntries,
		},
		Log: Log{
			Level:  slog.LevelInfo,
			Format: "text",
		},
		Sim: sim.DefaultConfig(),
	}
}

// NewToken returns a fresh random dashboard token: 32 random bytes in
// unpadded base64url, 43 characters.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// dataDir returns DataDir made absolute (against the working directory
// when it is still relative, as in Default).
func (c *Config) dataDir() string {
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return filepath.Clean(c.DataDir)
	}
	return dir
}

// ProfilePath returns the absolute path of the Tox profile.
func (c *Config) ProfilePath() string {
	if filepath.IsAbs(c.Tox.Profile) {
		return filepath.Clean(c.Tox.Profile)
	}
	return filepath.Join(c.dataDir(), c.Tox.Profile)
}

// MeshConfig returns the [mesh] section.
func (c *Config) MeshConfig() mesh.Config { return c.Mesh }

// ToxOptions returns the Tox instance's options, without Savedata,
// Callbacks or Logger, which the caller adds.
func (c *Config) ToxOptions() tox.Options {
	o := tox.DefaultOptions()
	o.UDP = c.Tox.UDP
	o.IPv6 = c.Tox.IPv6
	o.LocalDiscovery = c.Tox.LANDiscovery
	o.HolePunching = c.Tox.HolePunching
	o.DHTAnnouncements = c.Tox.DHTAnnouncements
	o.StartPort = c.Tox.UDPPortStart
	o.EndPort = c.Tox.UDPPortEnd
	o.TCPPort = c.Tox.TCPPort
	o.Proxy = c.Tox.Proxy
	o.ProxyHost = c.Tox.ProxyHost
	o.ProxyPort = c.Tox.ProxyPort
	return o
}

// RequestPolicy returns the friend-request policy, for
// tox.TransportConfig.Policy.
func (c *Config) RequestPolicy() tox.RequestPolicy { return c.Tox.FriendRequests }

// SMTPConfig returns the SMTP server's configuration: Addr, Domain, Users,
// MaxMessageBytes (resolved from the mesh when 0), MaxRecipients and
// AllowRemote. The other fields are left zero, which means the gateway's
// defaults.
func (c *Config) SMTPConfig() gateway.SMTPConfig {
	return gateway.SMTPConfig{
		Addr:            c.SMTP.Listen,
		Domain:          c.SMTP.Domain,
		Users:           c.users(),
		MaxMessageBytes: c.maxMessageBytes(),
		MaxRecipients:   c.SMTP.MaxRecipients,
		AllowRemote:     c.SMTP.AllowRemote,
	}
}

// maxMessageBytes resolves SMTP.MaxMessageBytes: 0 means what fits one
// envelope of the mesh's MaxEnvelopeSize.
func (c *Config) maxMessageBytes() int64 {
	if c.SMTP.MaxMessageBytes != 0 {
		return c.SMTP.MaxMessageBytes
	}
	return gateway.LargestSealableBody(c.Mesh.MaxEnvelopeSize)
}

func (c *Config) users() map[string]string {
	if len(c.SMTP.Users) == 0 {
		return nil
	}
	m := make(map[string]string, len(c.SMTP.Users))
	for _, u := range c.SMTP.Users {
		m[u.Name] = u.PasswordHash
	}
	return m
}

// POP3Config returns the POP3 server's configuration: Addr, AllowRemote
// and IdleTimeout; the other fields are left to the gateway's defaults.
// Logins are checked against the SMTP users (see Users).
func (c *Config) POP3Config() gateway.POP3Config {
	return gateway.POP3Config{
		Addr:        c.POP3.Listen,
		AllowRemote: c.POP3.AllowRemote,
		IdleTimeout: c.POP3.IdleTimeout,
	}
}

// Users returns the login names and bcrypt hashes shared by SMTP and POP3.
func (c *Config) Users() map[string]string { return c.users() }

// DashboardConfig returns the dashboard's configuration: Addr, Token and
// AllowRemote; the rest is left to the gateway's defaults.
func (c *Config) DashboardConfig() gateway.DashboardConfig {
	return gateway.DashboardConfig{
		Addr:        c.Dashboard.Listen,
		Token:       c.Dashboard.Token,
		AllowRemote: c.Dashboard.AllowRemote,
	}
}

// DNSCacheConfig returns the tox1 answer cache's configuration.
func (c *Config) DNSCacheConfig() gateway.DNSCacheConfig {
	return gateway.DNSCacheConfig{
		MinTTL:         c.DNS.CacheMinTTL,
		MaxTTL:         c.DNS.CacheMaxTTL,
		NegativeTTL:    c.DNS.CacheNegativeTTL,
		MaxNegativeTTL: c.DNS.CacheMaxNegTTL,
		MaxEntries:     c.DNS.CacheMaxEntries,
	}
}

// LogLevel returns the [log] level.
func (c *Config) LogLevel() slog.Level { return c.Log.Level }
