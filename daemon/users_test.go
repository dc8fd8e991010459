package daemon

import (
	"bytes"
	"log/slog"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/gateway"
)

// TestUsersFollowConfigFile: a new password written to the config file
// (as `toxmail passwd` does) works on the running node within a poll, and
// the old one stops working; a config file that does not load (a bad edit,
// a mode others may read) changes nothing until it is fixed, a chmod
// included.
func TestUsersFollowConfigFile(t *testing.T) {
	n := newTestNode(t, "users")
	var logs lockedBuffer
	n.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(n.cfg.Path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(config.Template(n.cfg))
	n.start(t)
	login := func(pass string) error {
		c, err := smtp.Dial(n.d.SMTPAddr())
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Auth(smtp.PlainAuth("", "users", pass, "127.0.0.1"))
	}
	if err := login("secret"); err != nil {
		t.Fatalf("login with the password the node started with: %v", err)
	}

	write([]byte("[smtp\n"))
	waitFor(t, 10*time.Second, "the bad edit to be noticed", func() bool { return strings.Contains(logs.String(), "cannot be used") })
	if err := login("secret"); err != nil {
		t.Fatalf("after a bad edit the password in use stopped working: %v", err)
	}

	hash, err := gateway.HashPassword("new secret")
	if err != nil {
		t.Fatal(err)
	}
	c := *n.cfg
	c.SMTP.Users = []config.User{{Name: "users", PasswordHash: hash}}
	// First readable by others: refused, until the advised chmod 600.
	write(config.Template(&c))
	if err := os.Chmod(n.cfg.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the file's mode to be refused", func() bool { return strings.Contains(logs.String(), "chmod 600") })
	if err := login("secret"); err != nil {
		t.Fatalf("while the file was refused the password in use stopped working: %v", err)
	}
	if err := os.Chmod(n.cfg.Path, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new password to work", func() bool { return login("new secret") == nil })
	if err := login("secret"); err == nil {
		t.Fatal("the old password still works")
	}
	if !strings.Contains(logs.String(), "passwords reloaded") {
		t.Errorf("the reload was not logged:\n%s", logs.String())
	}
	const later = "take effect when the node restarts"
	if strings.Contains(logs.String(), later) {
		t.Errorf("a password change was logged as waiting for a restart:\n%s", logs.String())
	}
	// Other settings wait for a restart, and the log says which.
	c.DNS.Server, c.Mesh.TTL = "127.0.0.1:5353", c.Mesh.TTL+1
	write(config.Template(&c))
	waitFor(t, 10*time.Second, "the edit to be noticed", func() bool { return strings.Contains(logs.String(), later) })
	if !strings.Contains(logs.String(), "keys=\"dns.server, mesh.ttl\"") { // schema order
		t.Errorf("the settings waiting for a restart are not named:\n%s", logs.String())
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
