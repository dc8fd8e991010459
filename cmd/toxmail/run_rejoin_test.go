package main

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/tox"
)

// TestRunRejoins: a node whose bootstrap node was down when it started (a
// laptop whose network comes up after login) joins once the bootstrap
// node is up, without a restart: while it is not on the network it
// bootstraps again every 20 s. libtoxcore asks a bootstrap node once.
func TestRunRejoins(t *testing.T) {
	if testing.Short() {
		t.Skip("a real Tox node and a tox-bootstrapd: up to a minute")
	}
	t.Parallel()
	bs := newBootstrapd(t, 0)
	addr := bs.start() // to learn its key
	bs.stop()
	parts := strings.Split(addr, ":") // 127.0.0.1:PORT:KEY
	port, _ := strconv.Atoi(parts[1])
	key, err := tox.ParsePublicKey(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := loopbackNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) {
		c.Tox.Bootstrap = []config.BootstrapNode{{Host: "127.0.0.1", Port: uint16(port), PublicKey: key}}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--config", n.config)
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
	waitStderr(t, &stderr, exited, "toxmail running", 30*time.Second)
	time.Sleep(3 * time.Second) // its first bootstrap has gone unanswered
	if got := bs.start(); got != addr {
		t.Fatalf("tox-bootstrapd came back as %s, want %s", got, addr)
	}
	waitStderr(t, &stderr, exited, "joined the Tox network", 75*time.Second)
}
