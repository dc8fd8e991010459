// Package demo runs toxmail's main job on a local network: three real
// nodes (real Tox on loopback, LAN discovery and IPv6 off, each with its own
// SMTP and POP3) that pass a mail from alice to an offline carol through
// bob, who relays it without being able to read it. `toxmail demo` and
// `make demo` run it.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/tox"
)

// member is one node of the demo network.
type member struct {
	name     string
	dir      string
	cfg      *config.Config
	id       gateway.ToxID
	password string
	d        *daemon.Daemon // nil while offline
	log      *slog.Logger
}

// network is the demo's nodes and how they find each other.
type network struct {
	members   []*member
	bootstrap *bootstrapNode // external DHT node, or nil: the members bootstrap from each other
	log       *slog.Logger
	root      string
	freePort  func() (uint16, error) // freeUDPPort unless a test sets it
}

type bootstrapNode struct {
	host string
	port uint16
	key  tox.PublicKey
}

// parseBootstrap parses HOST:PORT:PUBKEY.
func parseBootstrap(s string) (*bootstrapNode, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return nil, fmt.Errorf("--bootstrap %q: want HOST:PORT:PUBKEY", s)
	}
	hostPort, keyHex := s[:i], s[i+1:]
	if _, err := strconv.ParseUint(keyHex, 10, 16); err == nil && len(keyHex) < 6 {
		return nil, fmt.Errorf("--bootstrap %q: no public key: want HOST:PORT:PUBKEY, the key being the node's 64 hex digits", s)
	}
	host, portS, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, fmt.Errorf("--bootstrap %q: want HOST:PORT:PUBKEY: %v", s, err)
	}
	port, err := strconv.ParseUint(portS, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("--bootstrap %q: port %q is not 1..65535", s, portS)
	}
	raw, err := hex.DecodeString(keyHex)
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("--bootstrap %q: public key must be 64 hex digits", s)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--bootstrap %q: the demo stays on loopback; give a 127.x.x.x address", s)
	}
	b := &bootstrapNode{host: host, port: uint16(port)}
	copy(b.key[:], raw)
	return b, nil
}

// newMember creates a node's data directory, profile and config.
func (n *network) newMember(name string) (*member, error) {
	m := &member{name: name, dir: filepath.Join(n.root, name), log: n.log.With("node", name)}
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return nil, err
	}
	// A profile: keys made by libtoxcore itself, with UDP off so that
	// nothing touches the network.
	x, err := tox.New(tox.Options{})
	if err != nil {
		return nil, fmt.Errorf("creating %s's Tox keys: %w", name, err)
	}
	save, err := x.Savedata()
	addr := x.Address()
	x.Close()
	if err != nil {
		return nil, err
	}
	copy(m.id[:], addr[:])
	cfg := config.Default()
	cfg.DataDir = m.dir
	cfg.Path = filepath.Join(m.dir, config.FileName)
	cfg.Name = name
	if err := tox.SaveProfile(cfg.ProfilePath(), save, nil); err != nil {
		return nil, err
	}
	// Loopback only: LAN discovery and IPv6 off, never a public node.
	cfg.Tox.UDP, cfg.Tox.IPv6, cfg.Tox.LANDiscovery = true, false, false
	cfg.Tox.HolePunching, cfg.Tox.DHTAnnouncements = false, false
	cfg.Tox.Bootstrap = nil
	cfg.SMTP.Listen, cfg.POP3.Listen, cfg.Dashboard.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.SMTP.Domain = name + ".demo"
	cfg.DNS.Server = "127.0.0.1:1" // never asked: the demo addresses by Tox ID
	m.password = randomString(12)
	hash, err := gateway.HashPassword(m.password)
	if err != nil {
		return nil, err
	}
	cfg.SMTP.Users = []config.User{{Name: name, PasswordHash: hash}}
	cfg.Dashboard.Token = config.NewToken()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s's config: %w", name, err)
	}
	m.cfg = &cfg
	n.members = append(n.members, m)
	return m, nil
}

// befriend puts a and b in each other's address books, so that each one's
// friend request is accepted by the other's "known" policy.
func befriend(a, b *member) error {
	for _, p := range [][2]*member{{a, b}, {b, a}} {
		path := config.ContactsPath(p[0].cfg)
		cs, err := config.LoadContacts(path)
		if err != nil {
			return err
		}
		cs = append(cs, gateway.Contact{Name: p[1].name, ID: p[1].id, Source: gateway.SourceToxID, Added: time.Now().UTC().Truncate(time.Second)})
		if err := config.SaveContacts(path, cs); err != nil {
			return err
		}
	}
	return nil
}

// start brings a member online on a UDP port of its own (a restarted Tox
// instance on its old port is ignored by its peers for minutes) and
// bootstraps it.
func (n *network) start(m *member) error {
	free := n.freePort
	if free == nil {
		free = freeUDPPort
	}
	var d *daemon.Daemon
	// The port was free a moment ago; should another program take it
	// before libtoxcore binds it, another one is tried.
	for attempt := 1; ; attempt++ {
		port, err := free()
		if err != nil {
			return err
		}
		m.cfg.Tox.UDPPortStart, m.cfg.Tox.UDPPortEnd = port, port
		d, err = daemon.Open(m.cfg, daemon.Options{
			Logger:           m.log,
			AllowNoBootstrap: true,
			ContactsPoll:     500 * time.Millisecond,
			Tox: func(o *tox.Options) {
				o.LocalDiscovery, o.IPv6 = false, false
			},
		})
		if err == nil {
			break
		}
		if attempt == portAttempts || !errors.Is(err, tox.ErrPortAlloc) {
			return fmt.Errorf("starting %s: %w", m.name, err)
		}
		m.log.Debug("UDP port taken meanwhile; trying another", "port", port)
	}
	if err := d.Start(); err != nil {
		d.Close()
		return fmt.Errorf("starting %s: %w", m.name, err)
	}
	m.d = d
	return n.join(m)
}

// join bootstraps m from the external node, or from every other online
// member (and them from m).
func (n *network) join(m *member) error {
	if n.bootstrap != nil {
		return m.d.Bootstrap(n.bootstrap.host, n.bootstrap.port, n.bootstrap.key)
	}
	for _, o := range n.members {
		if o == m || o.d == nil {
			continue
		}
		for _, p := range [][2]*member{{m, o}, {o, m}} {
			port, err := p[1].d.UDPPort()
			if err != nil {
				return err
			}
			if err := p[0].d.Bootstrap("127.0.0.1", port, p[1].d.DHTKey()); err != nil {
				return fmt.Errorf("bootstrapping %s from %s: %w", p[0].name, p[1].name, err)
			}
		}
	}
	return nil
}

// rebootstrapEvery is how often a node that has not joined the DHT asks
// the --bootstrap node again.
const rebootstrapEvery = 5 * time.Second

// rebootstrap asks the external bootstrap node again for every online
// member that has not joined the DHT yet.
func (n *network) rebootstrap() {
	if n.bootstrap == nil {
		return
	}
	for _, m := range n.members {
		if m.d != nil && !m.d.Online() {
			if err := m.d.Bootstrap(n.bootstrap.host, n.bootstrap.port, n.bootstrap.key); err != nil {
				m.log.Warn("bootstrap node refused", "err", err)
			}
		}
	}
}

// bootstrapHint is what a timed-out step adds when the nodes join through
// --bootstrap: whether they reached that node, and what to check.
func (n *network) bootstrapHint() string {
	if n.bootstrap == nil {
		return ""
	}
	b := fmt.Sprintf("%s:%d", n.bootstrap.host, n.bootstrap.port)
	var joined, up int
	for _, m := range n.members {
		if m.d != nil {
			up++
			if m.d.Online() {
				joined++
			}
		}
	}
	if joined == 0 && up > 0 {
		return fmt.Sprintf("; no node joined the Tox DHT through --bootstrap %s: check that a tox-bootstrapd runs there "+
			"(UDP, IPv4, LAN discovery off) and that its public key is the one given", b)
	}
	return fmt.Sprintf("; %d of %d nodes joined the DHT through --bootstrap %s, but not all friends found each other: "+
		"check that node's log", joined, up, b)
}

// stop takes a member offline: a graceful shutdown that saves its profile.
func (n *network) stop(m *member) error {
	if m.d == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := m.d.Shutdown(ctx)
	m.d = nil
	return err
}

// close stops every member and removes the data directories.
func (n *network) close() {
	var errs []error
	for _, m := range n.members {
		errs = append(errs, n.stop(m))
	}
	if err := errors.Join(errs...); err != nil {
		n.log.Warn("shutting the demo down", "err", err)
	}
	os.RemoveAll(n.root)
}

// portAttempts is how many ports a member tries before it gives up.
const portAttempts = 3

// freeUDPPort asks the kernel for a free loopback UDP port.
func freeUDPPort() (uint16, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

// randomString is a password of n base32 characters from crypto/rand.
func randomString(n int) string { return rand.Text()[:n] }
