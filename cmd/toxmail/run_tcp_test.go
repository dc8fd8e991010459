package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/tox"
)

// TestRunTCPOnly: a node with udp = false (as with a proxy) joins the
// network through its bootstrap node's TCP relay, and says so. Before,
// it only bootstrapped, which libtoxcore does over UDP: such a node never
// connected, and nothing said why. It runs under umask 000, and the files
// it creates are still private.
func TestRunTCPOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("a real Tox node and a tox-bootstrapd: up to a minute")
	}
	t.Parallel()
	_, p, _ := net.SplitHostPort(freeTCPAddr(t))
	relay, _ := strconv.Atoi(p)
	bs := startBootstrapd(t, uint16(relay))
	parts := strings.Split(bs, ":") // 127.0.0.1:PORT:KEY
	port, _ := strconv.Atoi(parts[1])
	key, err := tox.ParsePublicKey(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := loopbackNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) {
		c.Tox.UDP = false
		// A wrong UDP port: only the TCP relay can let the node in.
		c.Tox.Bootstrap = []config.BootstrapNode{{Host: "127.0.0.1", Port: uint16(port), TCPPort: uint16(relay), PublicKey: key}}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `umask 000 && exec "$0" "$@"`, bin, "run", "--config", n.config)
	cmd.Env = baseEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	exited := startCmd(t, cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Error("run did not stop within 20 s of SIGINT")
		}
	}()
	waitStderr(t, &stderr, exited, "joined the Tox network", 90*time.Second)
	if !strings.Contains(stderr.String(), "via=tcp") {
		t.Errorf("joined, but not through TCP:\n%s", stderr.String())
	}
	err = filepath.WalkDir(n.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o under umask 000, want no access for others", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := toxmail(t, "status", "--json", "--config", n.config).ok(t, "status --json")
	var st nodeStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Identity.Network != "tcp" {
		t.Errorf("status --json: network %q (%v), want tcp:\n%s", st.Identity.Network, err, r.stdout)
	}
}
