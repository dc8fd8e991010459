package config

import (
	"slices"
	"testing"
	"time"
)

func TestChangedKeys(t *testing.T) {
	a, b := Default(), Default()
	if got := ChangedKeys(&a, &b); len(got) != 0 {
		t.Fatalf("equal configs: %v", got)
	}
	b.Mesh.TTL++
	b.DNS.Server = "127.0.0.1:5353"
	b.DNS.Timeout = 3 * time.Second
	b.Tox.Bootstrap = append(b.Tox.Bootstrap, BootstrapNode{Host: "127.0.0.1", Port: 33445})
	b.Sim.Nodes++
	want := []string{"tox.bootstrap", "dns.server", "dns.timeout", "mesh.ttl", "sim.nodes"} // schema order
	if got := ChangedKeys(&a, &b); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
