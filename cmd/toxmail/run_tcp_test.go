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
	bs := bootstrapNode(t, startBootstrapd(t, uint16(relay)))
	bs.TCPPort = uint16(relay)
	n, _ := loopbackNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) {
		c.Tox.UDP = false
		c.Tox.Bootstrap = []config.BootstrapNode{bs}
	})
	stderr, exited := runNode(t, "/bin/sh", "-c", `umask 000 && exec "$0" "$@"`, bin, "run", "--config", n.config)
	waitStderr(t, stderr, exited, "joined the Tox network", 90*time.Second)
	if !strings.Contains(stderr.String(), "via=tcp") {
		t.Errorf("joined, but not through TCP:\n%s", stderr.String())
	}
	err := filepath.WalkDir(n.dir, func(path string, d fs.DirEntry, err error) error {
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

// bootstrapNode is the config entry of "127.0.0.1:PORT:KEY", as
// startBootstrapd returns it.
func bootstrapNode(t *testing.T, addr string) config.BootstrapNode {
	t.Helper()
	parts := strings.Split(addr, ":")
	port, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	key, err := tox.ParsePublicKey(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	return config.BootstrapNode{Host: parts[0], Port: uint16(port), PublicKey: key}
}

// runNode starts a command that runs a node (name and args as for
// exec.Command) and returns its stderr and when it exits; at the end of
// the test it is stopped with SIGINT, and must stop within 20 s.
func runNode(t *testing.T, name string, args ...string) (*syncBuffer, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = baseEnv()
	stderr := new(syncBuffer)
	cmd.Stderr = stderr
	exited := startCmd(t, cmd)
	t.Cleanup(func() {
		defer cancel()
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Error("run did not stop within 20 s of SIGINT")
		}
	})
	return stderr, exited
}
