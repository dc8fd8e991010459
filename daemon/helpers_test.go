package daemon

// Test nodes: real libtoxcore on loopback only (UDP on a free 127.0.0.1
// port, LAN discovery, IPv6, hole punching and DHT announcements off, no
// bootstrap node but each other), SMTP, POP3 and the dashboard on free
// loopback ports. Run these tests in the loopback-only namespace:
// scripts/sandbox-test go test ./daemon.

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/tox"
)

// testNode is one node's data directory and config, and the daemon while
// it runs.
type testNode struct {
	name string
	cfg  *config.Config
	id   gateway.ToxID
	d    *Daemon // nil while stopped
	opts Options // start adds what every test node needs
}

// newTestNode makes a node's profile and config; start runs it.
func newTestNode(t *testing.T, name string) *testNode {
	t.Helper()
	dir := t.TempDir()
	x, err := tox.New(tox.Options{}) // UDP off: binds nothing
	if err != nil {
		t.Fatal(err)
	}
	save, err := x.Savedata()
	addr := x.Address()
	x.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Path, cfg.Name = dir, filepath.Join(dir, config.FileName), name
	if err := tox.SaveProfile(cfg.ProfilePath(), save, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Tox.UDP, cfg.Tox.IPv6, cfg.Tox.LANDiscovery = true, false, false
	cfg.Tox.HolePunching, cfg.Tox.DHTAnnouncements = false, false
	cfg.Tox.Bootstrap = nil
	cfg.SMTP.Listen, cfg.POP3.Listen, cfg.Dashboard.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.DNS.Server = "127.0.0.1:1" // never asked
	hash, err := gateway.HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SMTP.Users = []config.User{{Name: name, PasswordHash: hash}}
	cfg.Dashboard.Token = config.NewToken()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n := &testNode{name: name, cfg: &cfg}
	copy(n.id[:], addr[:])
	return n
}

// start runs the node on a UDP port of its own; Cleanup stops it.
func (n *testNode) start(t *testing.T) {
	t.Helper()
	opts := n.opts
	opts.AllowNoBootstrap = true
	if opts.ContactsPoll == 0 {
		opts.ContactsPoll = 50 * time.Millisecond
	}
	opts.Tox = func(o *tox.Options) { o.LocalDiscovery, o.IPv6 = false, false }
	var d *Daemon
	// The port was free a moment ago; another test's node may take it
	// before libtoxcore binds it.
	for attempt := 1; ; attempt++ {
		port := freeUDPPort(t)
		n.cfg.Tox.UDPPortStart, n.cfg.Tox.UDPPortEnd = port, port
		var err error
		if d, err = Open(n.cfg, opts); err == nil {
			break
		}
		if attempt == 3 || !errors.Is(err, tox.ErrPortAlloc) {
			t.Fatal(err)
		}
		t.Logf("port %d taken meanwhile (%v); trying another", port, err)
	}
	if err := d.Start(); err != nil {
		d.Close()
		t.Fatal(err)
	}
	n.d = d
	t.Cleanup(func() { n.stop(t) })
}

// stop shuts the node down gracefully.
func (n *testNode) stop(t *testing.T) {
	t.Helper()
	if n.d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.d.Shutdown(ctx); err != nil {
		t.Errorf("stopping %s: %v", n.name, err)
	}
	n.d = nil
}

// contacts writes the node's contacts file, as `toxmail contacts` does.
func (n *testNode) contacts(t *testing.T, cs ...gateway.Contact) {
	t.Helper()
	for i := range cs {
		if cs[i].Source == gateway.SourceUnknown {
			cs[i].Source = gateway.SourceToxID
		}
	}
	if err := config.SaveContacts(config.ContactsPath(n.cfg), cs); err != nil {
		t.Fatal(err)
	}
}

// isFriend reports whether pk is one of the node's Tox friends.
func (n *testNode) isFriend(pk envelope.PublicKey) bool {
	for _, p := range n.d.tr.Peers() {
		if p.Key == tox.PublicKey(pk) {
			return true
		}
	}
	return false
}

// online reports whether pk is a friend connected now.
func (n *testNode) online(pk envelope.PublicKey) bool {
	for _, p := range n.d.tr.Peers() {
		if p.Key == tox.PublicKey(pk) {
			return p.Connection != tox.ConnectionNone
		}
	}
	return false
}

// dashboardRow returns the dashboard's row for pk.
func (n *testNode) dashboardRow(pk envelope.PublicKey) (gateway.DashboardContact, bool) {
	for _, c := range (&backend{n.d}).Contacts() {
		if c.Key() == pk {
			return c, true
		}
	}
	return gateway.DashboardContact{}, false
}

// randomID is a valid Tox ID of a fresh X25519 key, as toxcore accepts.
func randomID(t *testing.T) gateway.ToxID {
	t.Helper()
	sk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var pk envelope.PublicKey
	copy(pk[:], sk.PublicKey().Bytes())
	var nospam [4]byte
	rand.Read(nospam[:])
	return gateway.NewToxID(pk, nospam)
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}
