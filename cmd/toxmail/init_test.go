package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/tox"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestInit(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	if got := mode(t, n.dir); got != 0o700 {
		t.Errorf("data directory mode %04o, want 0700", got)
	}
	if got := mode(t, n.config); got != 0o600 {
		t.Errorf("config mode %04o, want 0600", got)
	}
	profile := filepath.Join(n.dir, config.DefaultProfile)
	if got := mode(t, profile); got != 0o600 {
		t.Errorf("profile mode %04o, want 0600", got)
	}
	if _, err := os.Stat(filepath.Join(n.dir, config.ContactsFile)); !os.IsNotExist(err) {
		t.Errorf("init made a contacts file (stat: %v)", err)
	}
	entries, err := os.ReadDir(n.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("init left %d files, want the config and the profile: %v", len(entries), entries)
	}

	cfg, err := config.Load(n.config)
	if err != nil {
		t.Fatalf("the config init wrote does not load: %v", err)
	}
	if cfg.DataDir != n.dir {
		t.Errorf("data_dir resolves to %q, want %q", cfg.DataDir, n.dir)
	}
	if cfg.ProfilePath() != profile {
		t.Errorf("profile path %q, want %q", cfg.ProfilePath(), profile)
	}
	if cfg.Name != "alice" {
		t.Errorf("name %q, want alice", cfg.Name)
	}
	if len(cfg.SMTP.Users) != 1 || cfg.SMTP.Users[0].Name != "alice" {
		t.Fatalf("users %+v, want alice alone", cfg.SMTP.Users)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(cfg.SMTP.Users[0].PasswordHash), []byte(n.password)); err != nil {
		t.Errorf("the printed password does not match the stored hash: %v", err)
	}
	if len(cfg.Dashboard.Token) < gateway.DashboardMinTokenLen {
		t.Errorf("dashboard token of %d characters", len(cfg.Dashboard.Token))
	}
	if len(cfg.Tox.Bootstrap) != 0 {
		t.Errorf("init put bootstrap nodes in the config: %+v", cfg.Tox.Bootstrap)
	}
	raw, err := os.ReadFile(n.config)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), n.password) {
		t.Error("the config file holds the password in the clear")
	}

	save, err := tox.LoadProfile(profile, nil)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	x, err := tox.New(tox.Options{Savedata: save})
	if err != nil {
		t.Fatal(err)
	}
	addr := x.Address()
	x.Close()
	if addr.String() != n.id {
		t.Errorf("init printed Tox ID %s, the profile has %s", n.id, addr)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	before, err := os.ReadFile(n.config)
	if err != nil {
		t.Fatal(err)
	}
	toxmail(t, "init", "--dir", n.dir).failed(t, exitFailure, "toxmail init: ",
		filepath.Join(n.dir, config.FileName)+" exists; use another --dir or remove it")
	after, _ := os.ReadFile(n.config)
	if string(before) != string(after) {
		t.Error("the second init changed the config")
	}
	r := toxmail(t, "id", "--config", n.config).ok(t, "id")
	if strings.TrimSpace(r.stdout) != n.id {
		t.Errorf("the second init changed the Tox ID: %s, want %s", r.stdout, n.id)
	}

	// A profile alone (keys!) is not overwritten either.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.DefaultProfile), []byte("keys"), 0o600); err != nil {
		t.Fatal(err)
	}
	toxmail(t, "init", "--dir", dir).failed(t, exitFailure, "toxmail init: ", config.DefaultProfile+" exists")
	if _, err := os.Stat(filepath.Join(dir, config.FileName)); !os.IsNotExist(err) {
		t.Error("init wrote a config next to a profile it refused to replace")
	}
}

// TestInitInsecureParentLeavesNothing: under a directory anyone may
// write to, init refuses, and takes back the directories it made.
func TestInitInsecureParentLeavesNothing(t *testing.T) {
	t.Parallel()
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil { // no sticky bit
		t.Fatal(err)
	}
	toxmail(t, "init", "--dir", filepath.Join(open, "a", "b")).failed(t, exitFailure, "toxmail init: ", open)
	if entries, err := os.ReadDir(open); err != nil || len(entries) != 0 {
		t.Errorf("a refused init left %v in %s (%v)", entries, open, err)
	}
}

func TestInitBadUser(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "n")
	// Each bad value is named by its flag (or by $USER, where the login
	// name came from), and nothing is created.
	toxmail(t, "init", "--dir", dir, "--user", "a b").failed(t, exitUsage, "toxmail init: ", `--user "a b": character ' '`, "give another --user")
	runInv(t, invocation{args: []string{"init", "--dir", dir}, env: []string{"USER=a b"}}).
		failed(t, exitUsage, "toxmail init: ", `the login name $USER gives, "a b"`, "give one with --user")
	for _, name := range []string{"a\nb", "a\tb", " "} { // " " is refused as an empty flag; a config's name = " " as blanks
		toxmail(t, "init", "--dir", dir, "--name", name).failed(t, exitUsage, "toxmail init: ", "--name")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a refused init created the directory")
	}
}

func TestID(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	r := toxmail(t, "id", "--config", n.config).ok(t, "id")
	if !toxIDLine.MatchString(r.stdout) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("id printed %q, want one line of 76 upper-case hex digits", r.stdout)
	}
	id := strings.TrimSpace(r.stdout)
	if id != n.id {
		t.Errorf("id printed %s, init printed %s", id, n.id)
	}
	if _, err := gateway.ParseToxID(id); err != nil {
		t.Errorf("id printed an invalid Tox ID: %v", err)
	}
	// $TOXMAIL_CONFIG instead of --config.
	r = runInv(t, invocation{args: []string{"id"}, env: []string{envConfig + "=" + n.config}}).ok(t, "id with "+envConfig)
	if strings.TrimSpace(r.stdout) != n.id {
		t.Errorf("id with %s printed %s, want %s", envConfig, r.stdout, n.id)
	}
	// A profile others can read is refused, with the fix.
	profile := filepath.Join(n.dir, config.DefaultProfile)
	if err := os.Chmod(profile, 0o644); err != nil {
		t.Fatal(err)
	}
	toxmail(t, "id", "--config", n.config).failed(t, exitFailure, "toxmail id: ", "chmod 600")
}

func TestEncryptedProfile(t *testing.T) {
	t.Parallel()
	n := initNode(t, envPassphrase+"=correct horse")
	save, err := os.ReadFile(filepath.Join(n.dir, config.DefaultProfile))
	if err != nil {
		t.Fatal(err)
	}
	if !tox.IsEncrypted(save) {
		t.Fatal("init with a passphrase wrote a plain profile")
	}
	toxmail(t, "id", "--config", n.config).failed(t, exitFailure, "toxmail id: ", "encrypted", envPassphrase)
	runInv(t, invocation{args: []string{"id", "--config", n.config}, env: []string{envPassphrase + "=wrong"}}).
		failed(t, exitFailure, "toxmail id: ", envPassphrase)
	r := runInv(t, invocation{args: []string{"id", "--config", n.config}, env: []string{envPassphrase + "=correct horse"}}).ok(t, "id")
	if strings.TrimSpace(r.stdout) != n.id {
		t.Errorf("id printed %s, want %s", r.stdout, n.id)
	}
}
