package main

import (
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
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
	n, _ := loopbackNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) {
		c.Tox.Bootstrap = []config.BootstrapNode{bootstrapNode(t, addr)}
	})
	stderr, exited := runNode(t, bin, "run", "--config", n.config)
	waitStderr(t, stderr, exited, "toxmail running", 30*time.Second)
	time.Sleep(3 * time.Second) // its first bootstrap has gone unanswered
	if got := bs.start(); got != addr {
		t.Fatalf("tox-bootstrapd came back as %s, want %s", got, addr)
	}
	waitStderr(t, stderr, exited, "joined the Tox network", 75*time.Second)
}
