package main

// `toxmail demo --bootstrap` against a real tox-bootstrapd, and
// `toxmail demo --hold` driven like a user would: read the printed JSON,
// send a mail over alice's SMTP, fetch it from carol's POP3, Ctrl-C. Both
// run real Tox on loopback only; run them in the loopback-only namespace
// (scripts/sandbox-test).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toxmail/toxmail/demo"
)

// bootstrapdPath is where Debian's toxcore-utils installs tox-bootstrapd.
const bootstrapdPath = "/usr/bin/tox-bootstrapd"

var bootstrapdKey = regexp.MustCompile(`Public Key: ([0-9A-F]{64})`)

// startBootstrapd runs tox-bootstrapd in the foreground on a free
// 127.0.0.1 UDP port (IPv6 and LAN discovery off, no bootstrap nodes of
// its own; a TCP relay on tcpPort unless it is 0) and returns
// "127.0.0.1:PORT:KEY", its DHT key read from its log. It skips the test
// when the binary is missing.
func startBootstrapd(t *testing.T, tcpPort uint16) string {
	t.Helper()
	return newBootstrapd(t, tcpPort).start()
}

// bootstrapd is a tox-bootstrapd that can be stopped and started again on
// the same port with the same keys.
type bootstrapd struct {
	t      *testing.T
	conf   string
	port   uint16
	cancel context.CancelFunc
	done   chan struct{}
}

// newBootstrapd writes a tox-bootstrapd's config (see startBootstrapd);
// it skips the test when the binary is missing.
func newBootstrapd(t *testing.T, tcpPort uint16) *bootstrapd {
	t.Helper()
	if _, err := os.Stat(bootstrapdPath); err != nil {
		t.Skipf("%s is not installed (Debian package toxcore-utils; scripts/install-deps installs it): %v", bootstrapdPath, err)
	}
	dir := t.TempDir()
	b := &bootstrapd{t: t, conf: filepath.Join(dir, "tox-bootstrapd.conf"), port: freeUDPPort(t)}
	relay := "enable_tcp_relay = false"
	if tcpPort != 0 {
		relay = fmt.Sprintf("enable_tcp_relay = true\ntcp_relay_ports = [%d]", tcpPort)
	}
	writeFile(t, b.conf, fmt.Sprintf(`port = %d
keys_file_path = %q
pid_file_path = %q
enable_ipv6 = false
enable_ipv4_fallback = true
enable_lan_discovery = false
%s
enable_motd = false
motd = "toxmail demo test"
bootstrap_nodes = ()
`, b.port, filepath.Join(dir, "keys"), filepath.Join(dir, "tox-bootstrapd.pid"), relay))
	t.Cleanup(b.stop)
	return b
}

// start runs it and returns "127.0.0.1:PORT:KEY" once it has printed its
// key (the same key each time: it is kept in the keys file).
func (b *bootstrapd) start() string {
	t := b.t
	t.Helper()
	b.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, bootstrapdPath, "--foreground", "--log-backend", "stdout", "--config", b.conf)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second // then SIGKILL
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting tox-bootstrapd: %v", err)
	}
	done := make(chan struct{})
	b.cancel, b.done = cancel, done
	go func() {
		cmd.Wait()
		if t.Failed() {
			t.Logf("tox-bootstrapd output:\n%s", out.String())
		}
		close(done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := bootstrapdKey.FindStringSubmatch(out.String()); m != nil {
			return fmt.Sprintf("127.0.0.1:%d:%s", b.port, m[1])
		}
		if time.Now().After(deadline) {
			t.Fatalf("tox-bootstrapd printed no public key in 20 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends it, if it runs, and waits until it has.
func (b *bootstrapd) stop() {
	if b.cancel == nil {
		return
	}
	b.cancel()
	<-b.done
	b.cancel = nil
}

// The whole story with every node joining through a local tox-bootstrapd
// instead of through each other; --json prints exactly one JSON object.
func TestDemoBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("three real Tox nodes and a tox-bootstrapd: about a minute")
	}
	t.Parallel()
	bs := startBootstrapd(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--json", "--bootstrap", bs)
	cmd.Env, cmd.Dir = baseEnv(), t.TempDir()
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("timeline (stderr):\n%s", stderr.String())
	if err != nil {
		t.Fatalf("demo --bootstrap %s: %v\nstdout: %s", bs, err, stdout.String())
	}
	dec := json.NewDecoder(strings.NewReader(stdout.String()))
	var r demo.Result
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout.String())
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" || dec.More() {
		t.Errorf("stdout holds more than one JSON object:\n%s", stdout.String())
	}
	if !r.Delivered || !r.AckSeen || r.Relay != "bob" || r.Path != 2 {
		t.Errorf("result %+v, want delivered through bob (2 links) and the ack seen", r)
	}
}

// --hold: the printed JSON is enough to use the network. A mail submitted
// to alice's SMTP reaches carol's POP3 through bob; Ctrl-C stops it all
// cleanly.
func TestDemoHold(t *testing.T) {
	if testing.Short() {
		t.Skip("three real Tox nodes: about 30 s")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--hold")
	cmd.Env, cmd.Dir = baseEnv(), t.TempDir()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("demo --hold stderr:\n%s", stderr.String())
		}
	})

	var line string
	select {
	case line = <-lines:
	case err := <-exited:
		exited <- err
		t.Fatalf("demo --hold exited before printing the nodes: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("demo --hold printed nothing in 3 minutes")
	}
	var held struct {
		Nodes []demo.HeldNode `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(line), &held); err != nil {
		t.Fatalf("demo --hold printed %q: %v", line, err)
	}
	nodes := make(map[string]demo.HeldNode)
	for _, n := range held.Nodes {
		nodes[n.Name] = n
	}
	alice, carol := nodes["alice"], nodes["carol"]
	if len(nodes) != 3 || alice.SMTP == "" || carol.POP3 == "" || carol.Password == "" || carol.Address == "" {
		t.Fatalf("demo --hold printed %+v", held)
	}

	subject := fmt.Sprintf("held network test %d", time.Now().UnixNano())
	body := "From: alice <" + alice.Address + ">\r\nTo: carol <" + carol.Address + ">\r\nSubject: " + subject +
		"\r\n\r\nThrough bob, while everyone is online.\r\n"
	auth := smtp.PlainAuth("", alice.User, alice.Password, "127.0.0.1")
	if err := smtp.SendMail(alice.SMTP, auth, alice.Address, []string{carol.Address}, []byte(body)); err != nil {
		t.Fatalf("submitting to alice's SMTP %s: %v", alice.SMTP, err)
	}
	var got string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, err = pop3First(carol.POP3, carol.User, carol.Password)
		if err == nil && strings.Contains(got, subject) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol's POP3 %s had no mail %q after 2 minutes (last: %v)", carol.POP3, subject, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(got, "Through bob") {
		t.Errorf("carol's mail lacks the body:\n%s", got)
	}

	stopped := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("demo --hold exited with %v after SIGINT", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo --hold did not stop within 60 s of SIGINT")
	}
	t.Logf("stopped %v after SIGINT", time.Since(stopped).Round(time.Millisecond))
	if !strings.Contains(stderr.String(), "demo network up") {
		t.Errorf("stderr does not say the network is up:\n%s", stderr.String())
	}
}

// pop3First logs in with USER/PASS and returns message 1 (RETR 1), or an
// error when there is none yet.
func pop3First(addr, user, pass string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	say := func(cmd string) (string, error) {
		if cmd != "" {
			if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
				return "", err
			}
		}
		l, err := r.ReadString('\n')
		if err == nil && !strings.HasPrefix(l, "+OK") {
			err = fmt.Errorf("%s: server said %q", strings.Fields(cmd + " greeting")[0], strings.TrimSpace(l))
		}
		return l, err
	}
	for _, cmd := range []string{"", "USER " + user, "PASS " + pass, "RETR 1"} {
		if _, err := say(cmd); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if l == ".\r\n" {
			break
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
	say("QUIT")
	return b.String(), nil
}
