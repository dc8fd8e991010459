package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
)

// randomToxID is a valid Tox ID of a random key.
func randomToxID(t *testing.T) gateway.ToxID {
	t.Helper()
	var pk envelope.PublicKey
	var nospam [4]byte
	rand.Read(pk[:])
	rand.Read(nospam[:])
	pk[31] &= 0x7f // as every Curve25519 public key's
	return gateway.NewToxID(pk, nospam)
}

// listContacts runs `contacts list --json`.
func listContacts(t *testing.T, cfgPath string) []listedContact {
	t.Helper()
	r := toxmail(t, "contacts", "list", "--json", "--config", cfgPath).ok(t, "contacts list --json")
	var out []listedContact
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("contacts list --json printed %q: %v", r.stdout, err)
	}
	return out
}

func TestContacts(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	bob, carol := randomToxID(t), randomToxID(t)

	r := toxmail(t, "contacts", "add", "bob", bob.String(), "--config", n.config).ok(t, "contacts add (flags last)")
	if !strings.Contains(r.stdout, "added bob") || !strings.Contains(r.stdout, bob.String()) || !strings.Contains(r.stdout, "checksum verified") {
		t.Errorf("contacts add printed:\n%s", r.stdout)
	}
	toxmail(t, "contacts", "add", "me", n.id, "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", "this node's own Tox ID", "@tox")
	// Flags first, and a lower-case ID.
	toxmail(t, "contacts", "add", "--config", n.config, "carol", strings.ToLower(carol.String())).ok(t, "contacts add (flags first)")

	path := filepath.Join(n.dir, config.ContactsFile)
	if got := mode(t, path); got != 0o600 {
		t.Errorf("contacts file mode %04o, want 0600", got)
	}
	cs, err := config.LoadContacts(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "bob" || cs[0].ID != bob || cs[0].Source != gateway.SourceToxID || cs[0].Added.IsZero() {
		t.Fatalf("contacts file holds %+v", cs)
	}

	got := listContacts(t, n.config)
	// The source reads as contacts.toml stores it.
	if len(got) != 2 || got[0].Name != "bob" || got[0].ToxID != bob.String() || got[0].Source != "toxid" || got[1].Name != "carol" {
		t.Errorf("contacts list --json: %+v", got)
	}
	if raw := string(configBytes(t, path)); !strings.Contains(raw, `source = "toxid"`) {
		t.Errorf("contacts file does not store source toxid:\n%s", raw)
	}
	r = toxmail(t, "contacts", "list", "--config", n.config).ok(t, "contacts list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[0] != "NAME" || !strings.Contains(lines[1], bob.String()) || strings.Fields(lines[1])[3] != "toxid" {
		t.Errorf("contacts list printed:\n%s", r.stdout)
	}

	// The same again is fine; another ID under the name is not, nor the
	// same ID under another name (one entry per person).
	toxmail(t, "contacts", "add", "bob", bob.String(), "--config", n.config).ok(t, "contacts add again")
	toxmail(t, "contacts", "add", "bob", randomToxID(t).String(), "--config", n.config).
		failed(t, exitFailure, "toxmail contacts: ", `"bob" already exists`, "contacts remove bob")
	sameKey := gateway.NewToxID(bob.PublicKey(), [4]byte{1, 2, 3, 4})
	for _, id := range []string{bob.String(), sameKey.String()} {
		toxmail(t, "contacts", "add", "bob3", id, "--config", n.config).
			failed(t, exitFailure, "toxmail contacts: ", `already in the address book as "bob"`, "contacts remove bob", "add it again")
	}

	// Bad IDs are refused with one line, and nothing is written.
	bad := bob.String()[:75] + map[bool]string{true: "1", false: "0"}[bob.String()[75] == '0']
	toxmail(t, "contacts", "add", "dave", bad, "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", "checksum")
	toxmail(t, "contacts", "add", "dave", bob.String()[:64], "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", "76")
	toxmail(t, "contacts", "add", "dave", strings.Repeat("x", 76), "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", "hex")
	toxmail(t, "contacts", "add", "da ve", bob.String(), "--config", n.config).failed(t, exitUsage, "toxmail contacts: ")
	// The arguments are checked before the config: a mistyped ID is named
	// as such even where there is no config, and a bad ID in remove is a
	// usage error that says so (not "no contact").
	missing := filepath.Join(t.TempDir(), "none.toml")
	toxmail(t, "contacts", "add", "dave", "zz", "--config", missing).failed(t, exitUsage, "toxmail contacts: ", `"zz" is not a valid Tox ID`)
	toxmail(t, "contacts", "add", "dave", "zz@", "--config", missing).failed(t, exitUsage, "toxmail contacts: ", `"zz@" is not a mail address (nothing after the @)`)
	toxmail(t, "contacts", "add", "dave", bad+"@tox", "--config", missing).failed(t, exitUsage, "toxmail contacts: ", "is not a valid Tox address", "checksum")
	toxmail(t, "contacts", "remove", bad, "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", "is not a valid Tox ID", "checksum")
	toxmail(t, "contacts", "approve", "zz", "--config", missing).failed(t, exitUsage, "toxmail contacts: ", `"zz" is not a public key`)
	toxmail(t, "contacts", "add", "dave", bob.String(), "--address", "x@", "--config", missing).
		failed(t, exitUsage, "toxmail contacts: ", `--address "x@" is not a mail address (nothing after the @)`)
	toxmail(t, "contacts", "help", "bogus").failed(t, exitUsage, "toxmail contacts: ", `unknown subcommand "bogus"`)
	// A flag before the subcommand is pointed out, not taken for one.
	toxmail(t, "contacts", "--config", n.config, "list").failed(t, exitUsage, "toxmail contacts: ",
		`"--config" before the subcommand`, "toxmail contacts list --config "+n.config)
	if r := toxmail(t, "contacts", "help", "add"); !strings.Contains(r.stdout, "Usage: toxmail contacts add") {
		t.Errorf("contacts help add printed:\n%s", r.stdout)
	}
	if got := listContacts(t, n.config); len(got) != 2 {
		t.Errorf("refused adds changed the book: %+v", got)
	}

	r = toxmail(t, "contacts", "remove", "bob", "--config", n.config).ok(t, "contacts remove")
	if !strings.Contains(r.stdout, "removed bob") {
		t.Errorf("contacts remove printed %q", r.stdout)
	}
	toxmail(t, "contacts", "remove", "bob", "--config", n.config).failed(t, exitFailure, "toxmail contacts: ", `"bob"`, "contacts list")
	// By key (or Tox ID): the entries with it.
	r = toxmail(t, "contacts", "remove", "--config", n.config, carol.PublicKey().String()).ok(t, "contacts remove KEY")
	if !strings.Contains(r.stdout, "removed carol") || !strings.Contains(r.stdout, "Tox friendship") {
		t.Errorf("contacts remove KEY printed %q", r.stdout)
	}
	// A key that is in no entry is a friend only the running node knows.
	toxmail(t, "contacts", "remove", bob.String(), "--config", n.config).
		failed(t, exitFailure, "toxmail contacts: ", "not in", "only the running node", "toxmail run --config "+n.config)
	toxmail(t, "contacts", "add", "--config", n.config, "carol", carol.String()).ok(t, "contacts add carol again")
	toxmail(t, "contacts", "remove", "--config", n.config, "CAROL").ok(t, "contacts remove (any case)")
	if got := listContacts(t, n.config); len(got) != 0 {
		t.Errorf("after removing both: %+v", got)
	}
	r = toxmail(t, "contacts", "list", "--config", n.config).ok(t, "contacts list (empty)")
	if !strings.Contains(r.stdout, "no contacts") {
		t.Errorf("empty contacts list printed %q", r.stdout)
	}
}

func TestContactsNodeNotRunning(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) { c.Dashboard.Listen = freeTCPAddr(t) })
	for _, args := range [][]string{
		{"contacts", "requests"},
		{"contacts", "approve", strings.Repeat("AB", 32)},
		{"contacts", "deny", strings.Repeat("AB", 32)},
		{"status"},
	} {
		toxmail(t, append(args, "--config", n.config)...).failed(t, exitFailure, "toxmail "+args[0]+": ",
			"toxmail is not running", "toxmail run --config "+n.config)
	}
}

// A contacts.toml cut to nothing (or deleted) while the node keeps the
// friendships of the contacts it had: the CLI reads only the file, so it
// must not write a new one without them, which would end those
// friendships when the node reads it.
func TestContactsBookLost(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	bob, carol := randomToxID(t), randomToxID(t)
	toxmail(t, "contacts", "add", "bob", bob.String(), "--config", n.config).ok(t, "contacts add")
	// What a node that applied the book keeps (daemon/friends.go).
	applied := daemon.AppliedPath(n.dir)
	if err := os.WriteFile(applied, []byte("# applied\n"+bob.PublicKey().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(n.dir, config.ContactsFile)
	for _, lose := range []func() error{
		func() error { return os.WriteFile(path, nil, 0o600) },
		func() error { return os.Remove(path) },
	} {
		if err := lose(); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"contacts", "add", "carol", carol.String()},
			{"contacts", "remove", "bob"},
		} {
			toxmail(t, append(args, "--config", n.config)...).failed(t, exitFailure, "toxmail contacts: ",
				"missing or empty", "keeps the Tox friendships of the 1 contact it", "restore it from a backup",
				"stop the node and delete "+applied)
		}
		if raw, err := os.ReadFile(path); err == nil && len(raw) > 0 {
			t.Errorf("a refused command wrote %s:\n%s", path, raw)
		}
		r := toxmail(t, "contacts", "list", "--config", n.config).ok(t, "contacts list")
		if !strings.Contains(r.stderr, "warning: "+path+" is missing or empty") {
			t.Errorf("contacts list does not warn of the lost book: %q", r.stderr)
		}
	}
	// Starting over on purpose.
	if err := os.Remove(applied); err != nil {
		t.Fatal(err)
	}
	toxmail(t, "contacts", "add", "carol", carol.String(), "--config", n.config).ok(t, "contacts add after contacts.applied was deleted")
}

// TestWholeSeconds: request times are shown like the address book's, in
// UTC and whole seconds.
func TestWholeSeconds(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-08T03:12:55.25252641Z": "2026-12-08T03:12:55Z",
		"2026-12-08T04:12:55.9+01:00":   "2026-12-08T03:12:55Z",
		"2026-12-08T03:12:55Z":          "2026-12-08T03:12:55Z",
		"yesterday":                     "yesterday",
		"":                              "",
	} {
		if got := wholeSeconds(in); got != want {
			t.Errorf("wholeSeconds(%q) = %q, want %q", in, got, want)
		}
	}
}
