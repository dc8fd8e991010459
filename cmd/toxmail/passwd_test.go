package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/config"
)

// userHash returns the stored hash of user.
func userHash(t *testing.T, path, user string) string {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Users()[user]
}

func TestPasswd(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	before := string(configBytes(t, n.config))

	r := toxmail(t, "passwd", "--config", n.config).ok(t, "passwd")
	m := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(r.stdout)
	if m == nil || m[1] == n.password {
		t.Fatalf("passwd printed no new password:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "alice") || !strings.Contains(r.stdout, "shown once") {
		t.Errorf("passwd output:\n%s", r.stdout)
	}
	hash := userHash(t, n.config, "alice")
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(m[1])) != nil {
		t.Error("the printed password does not match the stored hash")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(n.password)) == nil {
		t.Error("the old password still matches")
	}
	if strings.Contains(string(configBytes(t, n.config)), m[1]) {
		t.Error("the config holds the password in the clear")
	}
	// The file keeps its comments and layout: one line changed.
	after := string(configBytes(t, n.config))
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	diff := 0
	for i := range min(len(bl), len(al)) {
		if bl[i] != al[i] {
			diff++
			if !strings.HasPrefix(al[i], "password_hash = ") {
				t.Errorf("passwd changed line %d: %q", i+1, al[i])
			}
		}
	}
	if len(bl) != len(al) || diff != 1 {
		t.Errorf("passwd changed %d lines of %d (now %d), want 1", diff, len(bl), len(al))
	}
	if got := mode(t, n.config); got != 0o600 {
		t.Errorf("config mode %04o after passwd, want 0600", got)
	}

	// From standard input.
	r = runInv(t, invocation{args: []string{"passwd", "--stdin", "--user", "alice", "--config", n.config},
		stdin: "correct horse battery\n"}).ok(t, "passwd --stdin")
	if strings.Contains(r.stdout, "correct horse") {
		t.Errorf("passwd --stdin echoed the password:\n%s", r.stdout)
	}
	if bcrypt.CompareHashAndPassword([]byte(userHash(t, n.config, "alice")), []byte("correct horse battery")) != nil {
		t.Error("the password read from stdin does not match the stored hash")
	}
	runInv(t, invocation{args: []string{"passwd", "--stdin", "--config", n.config}, stdin: "short\n"}).
		failed(t, exitUsage, "toxmail passwd: ", "at least 8")
	runInv(t, invocation{args: []string{"passwd", "--stdin", "--config", n.config}}).
		failed(t, exitUsage, "toxmail passwd: ", "no password")
	for _, pw := range []string{"abc\tdefgh", "abc\rdefgh", "abc\x7fdefgh", "abc\x01defgh", "abc\u0085defgh"} {
		runInv(t, invocation{args: []string{"passwd", "--stdin", "--config", n.config}, stdin: pw + "\n"}).
			failed(t, exitUsage, "toxmail passwd: ", "control character")
	}
	toxmail(t, "passwd", "--user", "mallory", "--config", n.config).
		failed(t, exitFailure, "toxmail passwd: ", `no user "mallory"`, "alice")
	if bcrypt.CompareHashAndPassword([]byte(userHash(t, n.config, "alice")), []byte("correct horse battery")) != nil {
		t.Error("a refused passwd changed the hash")
	}
}

// The config holds the dashboard token and password hashes: commands that
// run or change the node refuse a file others may read, with the fix;
// lookup and sim, which read only [dns] and [sim], warn and go on.
func TestConfigModeRefused(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	if err := os.Chmod(n.config, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"id"}, {"run"}, {"status"}, {"passwd"}, {"contacts", "list"}, {"contacts", "add", "bob", randomToxID(t).String()},
	} {
		toxmail(t, append(args, "--config", n.config)...).
			failed(t, exitFailure, "toxmail "+args[0]+": ", "mode 0644", "dashboard token", "chmod 600 "+n.config)
	}
	id := randomToxID(t)
	r := toxmail(t, "lookup", id.Address(), "--config", n.config).ok(t, "lookup with a readable config")
	if !strings.Contains(r.stdout, id.String()) {
		t.Errorf("lookup printed %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "toxmail lookup: warning: ") || !strings.Contains(r.stderr, "chmod 600 "+n.config) {
		t.Errorf("lookup did not warn about the mode: %q", r.stderr)
	}
	if err := os.Chmod(n.config, 0o600); err != nil {
		t.Fatal(err)
	}
	toxmail(t, "id", "--config", n.config).ok(t, "id after chmod 600")
	// A file of a [sim] section alone holds no secret: no warning.
	study := filepath.Join(t.TempDir(), "study.toml")
	if err := os.WriteFile(study, []byte("[sim]\nnodes = 20\ndegree = 4\nchurn = \"none\"\nmessages = 2\ndays = 0.05\nttl = [1]\nstrategies = [\"flood\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := toxmail(t, "sim", "--config", study).ok(t, "sim with a readable [sim]-only file"); strings.Contains(r.stderr, "warning") {
		t.Errorf("sim warned about a file without secrets: %q", r.stderr)
	}
}

// --config naming a directory says so and names the file to give.
func TestConfigIsDirectory(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	toxmail(t, "id", "--config", n.dir).
		failed(t, exitFailure, "toxmail id: ", n.dir+" is a directory", n.config)
}

// passwd --add makes a new user (the way to add one, or a first one to a
// config without any), and refuses one that exists or a bad name.
func TestPasswdAdd(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	r := runInv(t, invocation{args: []string{"passwd", "--add", "--user", "bob", "--stdin", "--config", n.config},
		stdin: "correct horse battery\n"}).ok(t, "passwd --add")
	if !strings.Contains(r.stdout, "New SMTP/POP3 user bob") {
		t.Errorf("passwd --add printed:\n%s", r.stdout)
	}
	if bcrypt.CompareHashAndPassword([]byte(userHash(t, n.config, "bob")), []byte("correct horse battery")) != nil {
		t.Error("bob's stored hash does not match his password")
	}
	if userHash(t, n.config, "alice") == "" {
		t.Error("passwd --add lost alice")
	}
	if got := mode(t, n.config); got != 0o600 {
		t.Errorf("config mode %04o after passwd --add, want 0600", got)
	}
	toxmail(t, "passwd", "--add", "--user", "bob", "--config", n.config).
		failed(t, exitFailure, "toxmail passwd: ", "already a user", "drop --add")
	toxmail(t, "passwd", "--add", "--config", n.config).
		failed(t, exitUsage, "toxmail passwd: ", "--add needs")
	toxmail(t, "passwd", "--add", "--user", "b o b", "--config", n.config).
		failed(t, exitUsage, "toxmail passwd: ", "printable ASCII")
	// Now there are two users: passwd needs --user.
	toxmail(t, "passwd", "--config", n.config).failed(t, exitUsage, "toxmail passwd: ", "several users")
}
