package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foxcpp/go-mockdns"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/gateway"
)

// startDNS serves zones on a loopback port (UDP and TCP) and returns
// HOST:PORT.
func startDNS(t *testing.T, zones map[string]mockdns.Zone) string {
	t.Helper()
	var srv *mockdns.Server
	var err error
	for range 10 { // the UDP twin of a free TCP port may be taken
		if srv, err = mockdns.NewServerWithLogger(zones, quietLog{}, false); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.LocalAddr().String()
}

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}

func TestLookup(t *testing.T) {
	t.Parallel()
	carol := randomToxID(t)
	dns := startDNS(t, map[string]mockdns.Zone{
		"carol._tox.example.org.": {TXT: []string{"v=tox1;id=" + carol.String()}},
		"bad._tox.example.org.":   {TXT: []string{"v=tox1;id=" + carol.String()[:75] + "X"}},
		"spf._tox.example.org.":   {TXT: []string{"v=spf1 -all"}},
	})

	r := toxmail(t, "lookup", "carol@example.org", "--dns", dns).ok(t, "lookup")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if lines[0] != carol.String() {
		t.Errorf("lookup printed %q first, want the Tox ID %s", lines[0], carol)
	}
	if !strings.Contains(r.stdout, "unauthenticated") || !strings.Contains(r.stdout, "carol._tox.example.org") {
		t.Errorf("lookup does not say where the ID came from and that it is unauthenticated:\n%s", r.stdout)
	}
	// Flags first, and the domain in capitals.
	r = toxmail(t, "lookup", "--dns", dns, "carol@EXAMPLE.org").ok(t, "lookup (flags first)")
	if !strings.HasPrefix(r.stdout, carol.String()+"\n") {
		t.Errorf("lookup printed %q", r.stdout)
	}

	toxmail(t, "lookup", "dave@example.org", "--dns", dns).failed(t, exitFailure, "toxmail lookup: ", "dave@example.org", "no tox1 DNS record")
	toxmail(t, "lookup", "spf@example.org", "--dns", dns).failed(t, exitFailure, "toxmail lookup: ", "spf@example.org")
	toxmail(t, "lookup", "bad@example.org", "--dns", dns).failed(t, exitFailure, "toxmail lookup: ", "bad@example.org")
	// A malformed address is a usage error, as a malformed Tox ID is, and
	// its message says what is wrong.
	toxmail(t, "lookup", "zz@", "--dns", dns).failed(t, exitUsage, "toxmail lookup: ", `"zz@" is not a mail address (nothing after the @)`)
	toxmail(t, "lookup", carol.String()[:75]+"X@tox", "--dns", dns).failed(t, exitUsage, "toxmail lookup: ", "is not a valid Tox address")

	// The [dns] server of --config.
	n := initNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) { c.DNS.Server = dns })
	r = toxmail(t, "lookup", "carol@example.org", "--config", n.config).ok(t, "lookup --config")
	if !strings.HasPrefix(r.stdout, carol.String()+"\n") || !strings.Contains(r.stdout, "has had this address as a recipient yet") {
		t.Errorf("lookup --config printed %q", r.stdout)
	}
	// The same config named by $TOXMAIL_CONFIG, and found as ./toxmail.toml,
	// as every other command finds it. Before, lookup then asked the
	// system's resolver.
	r = runInv(t, invocation{args: []string{"lookup", "carol@example.org"}, env: []string{"TOXMAIL_CONFIG=" + n.config}}).ok(t, "lookup with $TOXMAIL_CONFIG")
	if !strings.HasPrefix(r.stdout, carol.String()+"\n") || !strings.Contains(r.stdout, "has had this address as a recipient yet") {
		t.Errorf("lookup with $TOXMAIL_CONFIG printed %q", r.stdout)
	}
	r = runInv(t, invocation{args: []string{"lookup", "carol@example.org"}, dir: filepath.Dir(n.config)}).ok(t, "lookup beside toxmail.toml")
	if !strings.HasPrefix(r.stdout, carol.String()+"\n") {
		t.Errorf("lookup beside toxmail.toml printed %q", r.stdout)
	}
	// The node pinned another key for carol: lookup warns, and pins nothing.
	pins := filepath.Join(n.dir, daemon.PinsFile)
	pinned := randomToxID(t).PublicKey()
	if err := os.WriteFile(pins, []byte("carol@example.org "+pinned.String()+" 2026-12-01T00:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = toxmail(t, "lookup", "carol@example.org", "--config", n.config).ok(t, "lookup --config, another key pinned")
	if !strings.Contains(r.stdout, "WARNING") || !strings.Contains(r.stdout, pinned.String()) {
		t.Errorf("lookup does not warn of the pinned key:\n%s", r.stdout)
	}
	toxmail(t, "contacts", "add", "carol", "carol@example.org", "--config", n.config).
		failed(t, exitFailure, "toxmail contacts: ", "pinned", "--address carol@example.org")
	// The remedy it gives: the confirmed ID under the address.
	confirmed := randomToxID(t)
	toxmail(t, "contacts", "add", "carol", confirmed.String(), "--address", "Carol@Example.org", "--config", n.config).ok(t, "contacts add --address")
	cs, err := config.LoadContacts(filepath.Join(n.dir, config.ContactsFile))
	if err != nil || len(cs) != 1 || cs[0].ID != confirmed || cs[0].Address != "Carol@example.org" || cs[0].Source != gateway.SourceToxID {
		t.Fatalf("after contacts add --address the book holds %+v (%v)", cs, err)
	}
	// Now the address book decides, not DNS nor the pin: lookup says so.
	r = toxmail(t, "lookup", "carol@example.org", "--config", n.config).ok(t, "lookup --config, address in the book")
	if !strings.Contains(r.stdout, `gives this address to "carol", Tox ID `+confirmed.String()) || strings.Contains(r.stdout, "WARNING") {
		t.Errorf("lookup does not say the address book overrides DNS, or still warns of the pin:\n%s", r.stdout)
	}
	toxmail(t, "contacts", "add", "carol2", "carol@example.org", "--address", "x@example.org", "--config", n.config).
		failed(t, exitUsage, "toxmail contacts: ", "--address goes with a Tox ID")
	// NAME@tox names a contact: only the book has it, and lookup and
	// contacts add find it there (they said "no contact named" before).
	r = toxmail(t, "lookup", "Carol@TOX", "--config", n.config).ok(t, "lookup carol@tox")
	if !strings.HasPrefix(r.stdout, confirmed.String()+"\n") || !strings.Contains(r.stdout, `address book entry "carol"`) {
		t.Errorf("lookup carol@tox printed:\n%s", r.stdout)
	}
	toxmail(t, "contacts", "add", "carol3", "carol@tox", "--config", n.config).
		failed(t, exitFailure, "toxmail contacts: ", `already in the address book as "carol"`)
	toxmail(t, "lookup", "nobody@tox", "--config", n.config).failed(t, exitFailure, "toxmail lookup: ", `no contact named "nobody"`)
	// However the domain is written: a trailing dot, a comment.
	for _, a := range []string{"carol@tox.", "carol@TOX (work)"} {
		if r := toxmail(t, "lookup", a, "--config", n.config).ok(t, "lookup "+a); !strings.HasPrefix(r.stdout, confirmed.String()) {
			t.Errorf("lookup %s printed:\n%s", a, r.stdout)
		}
	}
	toxmail(t, "contacts", "remove", "carol", "--config", n.config).ok(t, "contacts remove carol")
	if err := os.Remove(pins); err != nil {
		t.Fatal(err)
	}

	// contacts add by address: the ID from DNS, marked so.
	r = toxmail(t, "contacts", "add", "carol", "carol@example.org", "--config", n.config).ok(t, "contacts add by address")
	if !strings.Contains(r.stdout, carol.String()) || !strings.Contains(r.stdout, "unauthenticated") {
		t.Errorf("contacts add printed:\n%s", r.stdout)
	}
	cs, err = config.LoadContacts(filepath.Join(n.dir, config.ContactsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != carol || cs[0].Source != gateway.SourceDNS || cs[0].Address != "carol@example.org" {
		t.Errorf("contacts file holds %+v", cs)
	}
	got := listContacts(t, n.config)
	if len(got) != 1 || got[0].Source != "dns" || got[0].Address != "carol@example.org" {
		t.Errorf("contacts list: %+v", got)
	}
	// --dns overrides the config; an unknown name adds nothing.
	other := startDNS(t, nil)
	toxmail(t, "contacts", "add", "dave", "dave@example.org", "--config", n.config, "--dns", other).
		failed(t, exitFailure, "toxmail contacts: ", "no tox1 DNS record")
	if got := listContacts(t, n.config); len(got) != 1 {
		t.Errorf("a failed lookup changed the book: %+v", got)
	}
}
