package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/tox"
)

// freeTCPAddr returns a loopback address whose port was free a moment ago.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// loopbackNode is a node set up to run on loopback only: a bootstrap
// entry on 127.0.0.1 that nobody answers, LAN discovery, IPv6, hole
// punching and DHT announcements off, servers on free ports.
func loopbackNode(t *testing.T) (node, *config.Config) {
	t.Helper()
	n := initNode(t)
	var key tox.PublicKey
	rand.Read(key[:])
	rewriteConfig(t, n.config, func(c *config.Config) {
		c.Tox.Bootstrap = []config.BootstrapNode{{Host: "127.0.0.1", Port: freeUDPPort(t), PublicKey: key}}
		c.Tox.IPv6, c.Tox.LANDiscovery, c.Tox.HolePunching, c.Tox.DHTAnnouncements = false, false, false, false
		p := freeUDPPort(t)
		c.Tox.UDPPortStart, c.Tox.UDPPortEnd = p, p
		c.SMTP.Listen, c.POP3.Listen, c.Dashboard.Listen = freeTCPAddr(t), freeTCPAddr(t), freeTCPAddr(t)
	})
	cfg, err := config.Load(n.config)
	if err != nil {
		t.Fatal(err)
	}
	return n, cfg
}

func TestRunNeedsBootstrap(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	toxmail(t, "run", "--config", n.config).failed(t, exitFailure, "toxmail run: ", "[[tox.bootstrap]]", n.config)
}

// A config without users is refused by run with what to do, naming the
// key and the command, not the gateway's Go field names.
func TestRunNeedsUser(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) { c.SMTP.Users = nil })
	toxmail(t, "run", "--config", n.config).failed(t, exitFailure, "toxmail run: ", "no [[smtp.users]]", "toxmail passwd --add --user NAME")
}

func TestRunNode(t *testing.T) {
	t.Parallel()
	n, cfg := loopbackNode(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--config", n.config)
	cmd.Env = baseEnv()
	cmd.Dir = t.TempDir()
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})

	// Up when the dashboard answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", cfg.Dashboard.Listen, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("run exited early: %v\nstderr: %s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard did not come up in 30 s\nstderr: %s", stderr.String())
		}
	}
	// The servers listen a moment before run says it is running.
	want := "toxmail running: Tox ID " + n.id + ", SMTP " + cfg.SMTP.Listen + ", POP3 " + cfg.POP3.Listen +
		", dashboard http://" + cfg.Dashboard.Listen + "/"
	for i := 0; i < 100 && !strings.Contains(stderr.String(), want); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("run did not print %q within 10 s of listening:\n%s", want, stderr.String())
	}

	t.Run("second run refused", func(t *testing.T) {
		toxmail(t, "run", "--config", n.config).failed(t, exitFailure, "toxmail run: ", "another toxmail", "is running", n.dir)
	})
	t.Run("status --json", func(t *testing.T) {
		r := toxmail(t, "status", "--json", "--config", n.config).ok(t, "status --json")
		var st nodeStatus
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status --json printed %q: %v", r.stdout, err)
		}
		if st.Identity.ToxID != n.id || st.Identity.Name != "alice" {
			t.Errorf("status identity %+v, want alice %s", st.Identity, n.id)
		}
		for _, k := range []string{"queued", "offered", "delivered", "expired"} {
			if _, ok := st.Counts.Outbox[k]; !ok {
				t.Errorf("status has no outbox count %q: %s", k, r.stdout)
			}
		}
		if _, ok := st.Stats["mesh_peers"]; !ok {
			t.Errorf("status has no mesh counters: %s", r.stdout)
		}
		if st.Inbox.Quota != config.DefaultMaxMailboxBytes || st.Inbox.Full {
			t.Errorf("status inbox %+v, want the default quota, not full", st.Inbox)
		}
		// What another node needs to bootstrap from this one.
		if !regexp.MustCompile(`^[0-9A-F]{64}$`).MatchString(st.Identity.DHTKey) || st.Identity.UDPPort == 0 {
			t.Errorf("status gives no DHT key and UDP port to bootstrap from: %+v", st.Identity)
		}
		r = toxmail(t, "status", "--config", n.config).ok(t, "status")
		if want := fmt.Sprintf("port = %d\n               public_key = %q\n", st.Identity.UDPPort, st.Identity.DHTKey); !strings.Contains(r.stdout, want) {
			t.Errorf("status does not show %q:\n%s", want, r.stdout)
		}
	})
	t.Run("status", func(t *testing.T) {
		r := toxmail(t, "status", "--config", n.config).ok(t, "status")
		// Its only bootstrap node answers nothing: it is not on the network.
		for _, want := range []string{"Tox ID:    " + n.id, "network:   not connected to the Tox network", "friends online", "0 in the address book and 0 other friends", "0 queued", "envelopes for others", "relayed", "IDs kept so mail is fetched once", "inbox:     0 mails, 0 B of 4.0 GiB\n"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("status does not show %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("id while running", func(t *testing.T) {
		r := toxmail(t, "id", "--config", n.config).ok(t, "id")
		if strings.TrimSpace(r.stdout) != n.id {
			t.Errorf("id printed %q, want %s", r.stdout, n.id)
		}
	})
	t.Run("requests", func(t *testing.T) {
		r := toxmail(t, "contacts", "requests", "--config", n.config).ok(t, "contacts requests")
		if !strings.Contains(r.stdout, "no friend requests waiting") {
			t.Errorf("contacts requests printed %q", r.stdout)
		}
		r = toxmail(t, "contacts", "requests", "--json", "--config", n.config).ok(t, "contacts requests --json")
		if strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("contacts requests --json printed %q", r.stdout)
		}
		key := strings.Repeat("AB", 32)
		toxmail(t, "contacts", "approve", key, "--config", n.config).failed(t, exitFailure, "toxmail contacts: ", "no friend request waiting", "contacts requests")
		toxmail(t, "contacts", "deny", key, "--config", n.config).failed(t, exitFailure, "toxmail contacts: ", "no friend request waiting")
		toxmail(t, "contacts", "approve", "nothex", "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", `"nothex" is not a public key (64 hex digits)`)
		// The 76-hex Tox ID people hand each other is taken for its key,
		// once its checksum holds.
		id := randomToxID(t)
		toxmail(t, "contacts", "approve", id.String(), "--config", n.config).failed(t, exitFailure, "toxmail contacts: ",
			"no friend request waiting from \""+strings.ToUpper(id.PublicKey().String()[:8]))
		bad := id.String()[:72] + "0000"
		if bad == id.String() {
			bad = id.String()[:72] + "1111"
		}
		toxmail(t, "contacts", "deny", bad, "--config", n.config).failed(t, exitUsage, "toxmail contacts: ", "checksum", "76-hex Tox ID")
	})
	t.Run("wrong token", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.toml")
		raw := strings.Replace(string(configBytes(t, n.config)), cfg.Dashboard.Token, strings.Repeat("x", 43), 1)
		writeFile(t, other, raw)
		toxmail(t, "status", "--config", other).failed(t, exitFailure, "toxmail status: ", "token")
		// Right after some other local program sent a wrong token, the
		// right one still works (all of them share 127.0.0.1).
		toxmail(t, "status", "--config", n.config).ok(t, "status right after a wrong token")
		toxmail(t, "contacts", "requests", "--config", n.config).ok(t, "contacts requests right after a wrong token")
	})
	t.Run("contacts remove", func(t *testing.T) {
		// `contacts remove` edits contacts.toml; the node drops the Tox
		// friend too, so the contact does not come back as a "friend" row.
		bob := randomToxID(t)
		toxmail(t, "contacts", "add", "bob", bob.String(), "--config", n.config).ok(t, "contacts add bob")
		key := bob.PublicKey().String()
		waitContacts(t, n.config, "bob to be a contact of the node", func(cs []apiContactRow) bool { return hasKey(cs, key) })
		r := toxmail(t, "contacts", "remove", "bob", "--config", n.config).ok(t, "contacts remove bob")
		if !strings.Contains(r.stdout, "ends the Tox friendship") {
			t.Errorf("contacts remove printed %q", r.stdout)
		}
		waitContacts(t, n.config, "bob to be neither a contact nor a friend", func(cs []apiContactRow) bool { return !hasKey(cs, key) })
		// A key the node does not know at all.
		toxmail(t, "contacts", "remove", randomToxID(t).PublicKey().String(), "--config", n.config).
			failed(t, exitFailure, "toxmail contacts: ", "no contact, Tox friend or friend request")
	})
	t.Run("passwd while running", func(t *testing.T) {
		// The running node follows the config file: the new password
		// works within a few seconds, without a restart.
		if err := pop3Login(cfg.POP3.Listen, "alice", "a new password"); err == nil {
			t.Fatal("the new password works before it is set")
		}
		r := runInv(t, invocation{args: []string{"passwd", "--stdin", "--config", n.config}, stdin: "a new password\n"}).ok(t, "passwd")
		if !strings.Contains(r.stdout, "takes the new password within a few seconds") {
			t.Errorf("passwd did not say the running node takes the new password:\n%s", r.stdout)
		}
		var err error
		for i := 0; i < 50; i++ {
			if err = pop3Login(cfg.POP3.Listen, "alice", "a new password"); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("the new password does not work 10 s after passwd: %v\nstderr: %s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "passwords reloaded from the config file") {
			t.Errorf("the node did not log the reload:\n%s", stderr.String())
		}
	})

	// SIGTERM: a clean stop, exit 0, the profile still private.
	stopped := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("run exited with %v after SIGTERM\nstderr: %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not stop within 20 s of SIGTERM\nstderr: %s", stderr.String())
	}
	t.Logf("stopped in %v", time.Since(stopped).Round(time.Millisecond))
	if stdout.String() != "" {
		t.Errorf("run wrote to stdout: %q", stdout.String())
	}
	if got := mode(t, cfg.ProfilePath()); got != 0o600 {
		t.Errorf("profile mode %04o after run, want 0600", got)
	}
	r := toxmail(t, "id", "--config", n.config).ok(t, "id after run")
	if strings.TrimSpace(r.stdout) != n.id {
		t.Errorf("the Tox ID changed across run: %s, want %s", r.stdout, n.id)
	}
	toxmail(t, "status", "--config", n.config).failed(t, exitFailure, "toxmail status: ", "toxmail is not running")
}

func TestRunLogFlags(t *testing.T) {
	t.Parallel()
	n, cfg := loopbackNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--log-format", "json", "--log-level", "debug", "--config", n.config)
	cmd.Env = baseEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	exited := startCmd(t, cmd)
	waitStderr(t, &stderr, exited, `"msg":"toxmail running"`, 60*time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run exited with %v after SIGINT\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop within 20 s of SIGINT")
	}
	var sawDebug bool
	// Every line is JSON: no plain "toxmail running: " line among them.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		level, _ := rec["level"].(string)
		sawDebug = sawDebug || strings.HasPrefix(level, "DEBUG")
		if strings.Contains(line, cfg.Dashboard.Token) {
			t.Errorf("the dashboard token was logged: %q", line)
		}
	}
	if !sawDebug {
		t.Errorf("no debug records with --log-level debug:\n%s", stderr.String())
	}
}

// startCmd starts cmd and returns a channel that gets its exit.
func startCmd(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited
}

// waitStderr waits until stderr holds want; it fails the test if the
// command exits first or within passes.
func waitStderr(t *testing.T, stderr *syncBuffer, exited <-chan error, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for !strings.Contains(stderr.String(), want) {
		select {
		case err := <-exited:
			t.Fatalf("run exited early: %v\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("no %q on stderr within %v:\n%s", want, within, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// apiContactRow is the part of GET /api/contacts these tests read.
type apiContactRow struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
	Source    string `json:"source"`
}

func hasKey(cs []apiContactRow, key string) bool {
	for _, c := range cs {
		if strings.EqualFold(c.PublicKey, key) {
			return true
		}
	}
	return false
}

// waitContacts polls the running node's GET /api/contacts (with the token
// of cfgPath) until cond holds, for at most 20 s.
func waitContacts(t *testing.T, cfgPath, what string, cond func([]apiContactRow) bool) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var last []apiContactRow
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+cfg.Dashboard.Listen+"/api/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+cfg.Dashboard.Token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			last = nil
			json.NewDecoder(resp.Body).Decode(&last)
			resp.Body.Close()
			if cond(last) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; contacts: %+v", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pop3Login logs in to the POP3 server at addr and quits.
func pop3Login(addr, user, pass string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	for _, cmd := range []string{"", "USER " + user, "PASS " + pass, "QUIT"} {
		if cmd != "" {
			if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
				return err
			}
		}
		l, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(l, "+OK") {
			return fmt.Errorf("%s: %s", strings.Fields(cmd + " greeting")[0], strings.TrimSpace(l))
		}
	}
	return nil
}
