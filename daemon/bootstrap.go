package daemon

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/toxmail/toxmail/tox"
)

// Joining the Tox network: the configured bootstrap nodes, asked at start
// and again while the node is off the network, each by every address its
// name resolves to.

// bootstrap asks every configured bootstrap node to let the node in, over
// UDP and as a TCP relay; refusals are logged (at start as warnings, later
// once more at debug level: they are the same every time).
func (d *Daemon) bootstrap(first bool) {
	stopping := func() bool {
		select {
		case <-d.stop:
			return true
		default:
			return false
		}
	}
	warn := d.log.Warn
	if !first {
		warn = d.log.Debug
		d.log.Debug("not on the Tox network: asking the bootstrap nodes again", "nodes", len(d.cfg.Tox.Bootstrap))
	}
	for _, b := range d.cfg.Tox.Bootstrap {
		ips, err := d.bootstrapIPs(b.Host)
		if stopping() {
			return
		}
		if err != nil {
			warn("bootstrap node skipped: its name does not resolve", "host", b.Host, "err", err)
			continue
		}
		for _, ip := range ips {
			if first {
				d.log.Debug("bootstrapping", "host", b.Host, "ip", ip, "port", b.Port, "tcp_port", b.RelayPort())
			}
			if err := d.Bootstrap(ip, b.Port, b.PublicKey); err != nil {
				warn("bootstrap node refused", "host", b.Host, "ip", ip, "port", b.Port, "err", err)
			}
			// As a TCP relay too: with UDP off (a proxy) or dropped by a
			// firewall, bootstrapping alone never connects.
			if err := d.x.AddTCPRelay(ip, b.RelayPort(), b.PublicKey); err != nil {
				warn("TCP relay refused", "host", b.Host, "ip", ip, "tcp_port", b.RelayPort(), "err", err)
			}
		}
	}
}

// Bootstrap adds a DHT node to join the Tox network through.
func (d *Daemon) Bootstrap(host string, port uint16, key [32]byte) error {
	return d.x.Bootstrap(host, port, tox.PublicKey(key))
}

// bootstrapAsync runs a bootstrap pass on a goroutine of its own, unless
// one is still running: resolving the names may take seconds each, and the
// background loop (the contacts file, reports, saves) must not wait for it.
func (d *Daemon) bootstrapAsync(first bool) {
	if !d.bootstrapping.CompareAndSwap(false, true) {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.bootstrapping.Store(false)
		d.bootstrap(first)
	}()
}

// bootstrapLookupTimeout bounds the resolving of a bootstrap node's name.
const bootstrapLookupTimeout = 10 * time.Second

// bootstrapIPs returns a bootstrap node's host as IP literals. libtoxcore
// would resolve a name itself, on the instance's only thread: while DNS
// does not answer, no friend traffic would move and every call would wait.
// So names are resolved here, by Go, with a timeout. Like libtoxcore, the
// node then asks every address the name has: all IPv4 ones, and the IPv6
// ones when tox.ipv6 is on.
func (d *Daemon) bootstrapIPs(host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{host}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), bootstrapLookupTimeout)
	defer cancel()
	go func() { // a node stopping does not wait for DNS
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	lookup := d.opts.LookupIP
	if lookup == nil {
		lookup = net.DefaultResolver.LookupIP
	}
	ips, err := lookup(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ip := range ips {
		if ip.To4() != nil || d.cfg.Tox.IPv6 {
			out = append(out, ip.String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no IPv4 address, and tox.ipv6 is off", host)
	}
	return out, nil
}
