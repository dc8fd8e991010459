package main

// The CLI is tested as users run it: TestMain builds the binary once and
// every test runs it as a subprocess, each bounded by a context of at most
// a minute. Nothing leaves loopback.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
)

// bin is the toxmail binary TestMain built.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "toxmail-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "toxmail")
	if err := build(bin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the command, with the race detector when the tests have
// it (which also shares the build cache with `go test -race`).
func build(out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, append(args, ".")...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building toxmail: %v\n%s", err, stderr.String())
	}
	return nil
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// invocation describes a run: arguments, extra environment, directory.
type invocation struct {
	args  []string
	env   []string // KEY=VALUE added to a clean environment
	dir   string   // working directory; "" for a fresh temporary one
	stdin string   // standard input; none when ""
}

// baseEnv is the test process's environment without the TOXMAIL_
// variables, so that a developer's settings do not leak in.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOXMAIL_") {
			env = append(env, kv)
		}
	}
	return env
}

// toxmail runs the binary with args in a fresh directory.
func toxmail(t *testing.T, args ...string) result {
	t.Helper()
	return runInv(t, invocation{args: args})
}

func runInv(t *testing.T, inv invocation) result {
	t.Helper()
	if inv.dir == "" {
		inv.dir = t.TempDir()
	}
	r, err := runRaw(inv)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runRaw runs the binary; it is safe in any goroutine.
func runRaw(inv invocation) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, inv.args...)
	cmd.Env = append(baseEnv(), inv.env...)
	cmd.Dir = inv.dir
	if inv.stdin != "" {
		cmd.Stdin = strings.NewReader(inv.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		return r, fmt.Errorf("toxmail %s: %v (stderr: %s)", strings.Join(inv.args, " "), err, r.stderr)
	}
	return r, nil
}

// ok fails the test unless r exited 0.
func (r result) ok(t *testing.T, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d, want 0\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

// failed checks that r exited with code and printed exactly one line on
// stderr, "toxmail CMD: ..." (prefix), containing each of want.
func (r result) failed(t *testing.T, code int, prefix string, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	line := strings.TrimSuffix(r.stderr, "\n")
	if line == "" || strings.Contains(line, "\n") || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line:\n%s", r.stderr)
	}
	if !strings.HasPrefix(line, prefix) {
		t.Errorf("stderr %q does not start with %q", line, prefix)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("stderr %q does not mention %q", line, w)
		}
	}
	if strings.Contains(line, ";") == false && code != 0 {
		t.Errorf("stderr %q does not say what to do (no \"; ...\")", line)
	}
}

var toxIDLine = regexp.MustCompile(`(?m)^[0-9A-F]{76}$`)

// node is a data directory made by `toxmail init`.
type node struct {
	dir, config, id, password string
}

// initNode runs `toxmail init` in a new directory.
func initNode(t *testing.T, env ...string) node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	r := runInv(t, invocation{args: []string{"init", "--dir", dir, "--name", "alice", "--user", "alice"}, env: env}).ok(t, "init")
	id := regexp.MustCompile(`Tox ID:\s+([0-9A-F]{76})`).FindStringSubmatch(r.stdout)
	pw := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(r.stdout)
	if id == nil || pw == nil {
		t.Fatalf("init printed no Tox ID or password:\n%s", r.stdout)
	}
	return node{dir: dir, config: filepath.Join(dir, config.FileName), id: id[1], password: pw[1]}
}

// rewriteConfig loads a config, changes it and writes it back whole.
func rewriteConfig(t *testing.T, path string, edit func(*config.Config)) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, config.Template(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		flags []string
	}{
		{[]string{"init"}, []string{"--dir", "--name", "--user"}},
		{[]string{"run"}, []string{"--config", "--log-level", "--log-format"}},
		{[]string{"id"}, []string{"--config"}},
		{[]string{"passwd"}, []string{"--config", "--user", "--stdin", "within a few"}},
		{[]string{"contacts"}, []string{"add", "list", "remove", "requests", "approve", "deny"}},
		{[]string{"contacts", "add"}, []string{"--config", "--dns"}},
		{[]string{"contacts", "list"}, []string{"--config", "--json"}},
		{[]string{"contacts", "remove"}, []string{"--config", "KEY", "Tox friend", "running node"}},
		{[]string{"contacts", "requests"}, []string{"--config", "--json"}},
		{[]string{"contacts", "approve"}, []string{"--config"}},
		{[]string{"contacts", "deny"}, []string{"--config"}},
		{[]string{"lookup"}, []string{"--dns", "--config"}},
		{[]string{"status"}, []string{"--config", "--json"}},
		{[]string{"sim"}, []string{"--config", "--nodes", "--graph", "--degree", "--churn", "--ttl", "--messages", "--days",
			"--seeds", "--strategies", "--seed", "--out", "--json", "--window", "--distance", "--always-on", "--size"}},
		{[]string{"demo"}, []string{"--json", "--hold", "--bootstrap"}},
		{[]string{"version"}, nil},
		{[]string{"help"}, nil},
	}
	for _, tt := range tests {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, tt.args...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				r := toxmail(t, args...).ok(t, strings.Join(args, " "))
				if !strings.HasPrefix(r.stdout, "Usage: toxmail") {
					t.Errorf("help does not start with the usage:\n%s", r.stdout)
				}
				for _, f := range tt.flags {
					if !strings.Contains(r.stdout, f) {
						t.Errorf("help does not mention %s:\n%s", f, r.stdout)
					}
				}
				if r.stderr != "" {
					t.Errorf("help wrote to stderr: %s", r.stderr)
				}
			})
		}
	}
	t.Run("command list", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"help"}, {"--help"}} {
			r := toxmail(t, args...).ok(t, "help")
			for _, cmd := range commands() {
				if !strings.Contains(r.stdout, "  "+cmd.name+" ") {
					t.Errorf("toxmail %s does not list %s:\n%s", args[0], cmd.name, r.stdout)
				}
			}
		}
		r := toxmail(t, "help", "contacts", "add").ok(t, "help contacts add")
		if !strings.Contains(r.stdout, "--dns") {
			t.Errorf("help contacts add:\n%s", r.stdout)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		prefix string
		want   []string
	}{
		{[]string{"frobnicate"}, "toxmail: ", []string{"unknown command", "toxmail help"}},
		{[]string{"init"}, "toxmail init: ", []string{"--dir"}},
		{[]string{"init", "--dir"}, "toxmail init: ", []string{"--dir"}},
		{[]string{"init", "--bogus", "x"}, "toxmail init: ", []string{"--bogus", "--help"}},
		{[]string{"id", "extra"}, "toxmail id: ", []string{"extra"}},
		{[]string{"contacts"}, "toxmail contacts: ", []string{"add"}},
		{[]string{"contacts", "frob"}, "toxmail contacts: ", []string{"frob"}},
		{[]string{"contacts", "add", "bob"}, "toxmail contacts: ", []string{"TOXID|ADDRESS"}},
		{[]string{"lookup"}, "toxmail lookup: ", []string{"ADDRESS"}},
		{[]string{"lookup", "carol"}, "toxmail lookup: ", []string{"name@domain"}},
		{[]string{"lookup", "carol@example.org", "--dns", "nonsense:port"}, "toxmail lookup: ", []string{"HOST:PORT"}},
		{[]string{"run", "--log-level", "loud"}, "toxmail run: ", []string{"debug"}},
		{[]string{"run", "--log-format", "xml"}, "toxmail run: ", []string{"json"}},
		{[]string{"sim", "--nodes", "many"}, "toxmail sim: ", []string{"--nodes"}},
		{[]string{"demo", "--bootstrap", "example.org"}, "toxmail demo: ", []string{"HOST:PORT:PUBKEY"}},
		{[]string{"help", "frob"}, "toxmail help: ", []string{"frob"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			toxmail(t, tt.args...).failed(t, exitUsage, tt.prefix, tt.want...)
		})
	}
	t.Run("no arguments", func(t *testing.T) {
		t.Parallel()
		r := toxmail(t)
		r.failed(t, exitUsage, "toxmail: ", "toxmail help")
		if !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("no command list on stdout:\n%s", r.stdout)
		}
	})
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := toxmail(t, "version").ok(t, "version")
	if !regexp.MustCompile(`^toxmail \S+ \(go1\.[0-9.]+.*\)\n$`).MatchString(r.stdout) {
		t.Errorf("version printed %q", r.stdout)
	}
}

func TestMissingConfig(t *testing.T) {
	t.Parallel()
	toxmail(t, "id").failed(t, exitFailure, "toxmail id: ", "toxmail.toml", "--config", "toxmail init")
	toxmail(t, "status", "--config", "/nonexistent/toxmail.toml").failed(t, exitFailure, "toxmail status: ", "/nonexistent/toxmail.toml")
	r := runInv(t, invocation{args: []string{"contacts", "list"}, env: []string{envConfig + "=/nonexistent/x.toml"}})
	r.failed(t, exitFailure, "toxmail contacts: ", "/nonexistent/x.toml")
}

func configBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// scripts/sandbox-test leaves stdout to the command it runs, so that
// `scripts/sandbox-test bin/toxmail demo --json` prints only the JSON.
func TestSandboxScriptKeepsStdout(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "sandbox-test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, bin, "version")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s version: %v\n%s", script, bin, err, stderr.String())
	}
	if !regexp.MustCompile(`^toxmail \S+ \(go1\.[0-9.]+.*\)\n$`).MatchString(stdout.String()) {
		t.Errorf("stdout through sandbox-test is %q, want only toxmail's version line", stdout.String())
	}
	if !strings.Contains(stderr.String(), "sandbox-test: ") {
		t.Errorf("sandbox-test said nothing on stderr: %q", stderr.String())
	}
}

// TestConfigSyntaxHint: a malformed config says to fix its line, and a
// ./toxmail.toml nobody named says why it was read.
func TestConfigSyntaxHint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, config.FileName)
	if err := os.WriteFile(path, []byte("name \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runInv(t, invocation{args: []string{"id"}, dir: dir}).failed(t, exitFailure, "toxmail id: ",
		"toxmail.toml:1:6: invalid TOML", "fix that line", "./toxmail.toml was read because no --config was given")
	r := toxmail(t, "lookup", "a@example.org", "--config", path)
	r.failed(t, exitFailure, "toxmail lookup: ", "invalid TOML", "fix that line")
	if strings.Contains(r.stderr, "was read because") {
		t.Errorf("a config given by --config is explained as found: %q", r.stderr)
	}
}
