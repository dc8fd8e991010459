package tox

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const bootstrapdPath = "/usr/bin/tox-bootstrapd"

// lockedBuffer collects a child's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// startBootstrapd runs tox-bootstrapd on loopback with a key pair made
// here (the keys file is 32 bytes of public key, then 32 of secret key),
// no LAN discovery, no IPv6, no TCP relay and no bootstrap nodes. It
// returns the daemon's UDP port and DHT key, and stops it at cleanup.
func startBootstrapd(t *testing.T) (uint16, PublicKey) {
	t.Helper()
	if _, err := os.Stat(bootstrapdPath); err != nil {
		t.Skipf("%s not installed (Debian package toxcore-utils): %v", bootstrapdPath, err)
	}
	dir := t.TempDir()
	sk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var pk PublicKey
	copy(pk[:], sk.PublicKey().Bytes())
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, append(pk[:], sk.Bytes()...), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	conf := filepath.Join(dir, "tox-bootstrapd.conf")
	config := fmt.Sprintf(`port = %d
keys_file_path = %q
pid_file_path = %q
enable_ipv6 = false
enable_ipv4_fallback = true
enable_lan_discovery = false
enable_tcp_relay = false
enable_motd = false
motd = "toxmail test"
bootstrap_nodes = ()
`, port, keys, filepath.Join(dir, "tox-bootstrapd.pid"))
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bootstrapdPath, "--foreground", "--log-backend", "stdout", "--config", conf)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second // then SIGKILL
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting tox-bootstrapd: %v", err)
	}
	t.Cleanup(func() {
		cancel() // SIGTERM, SIGKILL after WaitDelay
		_ = cmd.Wait()
		log := out.String()
		if i := strings.Index(log, "Public Key: "); i >= 0 {
			if got := strings.Fields(log[i+len("Public Key: "):]); len(got) == 0 || got[0] != pk.String() {
				t.Errorf("tox-bootstrapd reported key %v, want %v", got, pk)
			}
		}
		if t.Failed() {
			t.Logf("tox-bootstrapd output:\n%s", log)
		}
	})
	return port, pk
}

// TestBootstrapd connects two instances that know only a local
// tox-bootstrapd, not each other.
func TestBootstrapd(t *testing.T) {
	t.Parallel()
	port, key := startBootstrapd(t)
	a, b := pairNew(t, pairOptions(t)), pairNew(t, pairOptions(t))
	// Friends first, so the friend search overlaps the DHT join.
	ab, err := a.AddFriendNoRequest(b.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ba, err := b.AddFriendNoRequest(a.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	lastBootstrap := time.Time{}
	// Bootstrap again every 2 s until connected: the daemon may not have
	// bound its port yet when the first request goes out.
	waitFor(t, pairConnectTimeout, "both instances to join the DHT of tox-bootstrapd", func() bool {
		if time.Since(lastBootstrap) > 2*time.Second {
			lastBootstrap = time.Now()
			for _, x := range []*Tox{a, b} {
				if err := x.Bootstrap("127.0.0.1", port, key); err != nil {
					t.Fatalf("Bootstrap: %v", err)
				}
			}
		}
		ca, _ := a.SelfConnection()
		cb, _ := b.SelfConnection()
		return ca.Online() && cb.Online()
	})
	t.Logf("joined the DHT after %v", time.Since(start).Round(time.Millisecond))
	waitOnline(t, pairConnectTimeout, a, ab)
	waitOnline(t, pairConnectTimeout, b, ba)
	t.Logf("friends connected after %v", time.Since(start).Round(time.Millisecond))
	if _, err := a.SendMessage(ab, MessageNormal, "via the DHT of a local bootstrap node"); err != nil {
		t.Fatal(err)
	}
}
