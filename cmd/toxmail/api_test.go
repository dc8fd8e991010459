package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
)

// A 429 from the dashboard API (wrong tokens being held back) is one line
// that says what to check, not a raw status.
func TestAPIClientTooManyRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"too many wrong tokens at once: wait 7 s"}` + "\n"))
	}))
	defer srv.Close()
	a := &apiClient{base: srv.URL, token: "t", cfgPath: "/x/toxmail.toml", http: &http.Client{Timeout: 5 * time.Second}}
	_, err := a.do(context.Background(), http.MethodGet, "/api/status")
	msg, code := exitCode(err)
	if code != exitFailure || strings.Contains(msg, "\n") {
		t.Fatalf("got %q (exit %d), want one line, exit 1", msg, code)
	}
	for _, want := range []string{"refused the dashboard token", "7 s", "dashboard.token of /x/toxmail.toml"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
}

// TestAPITokenOnlyToOwnNode: with the node stopped, another program on
// the dashboard's port gets nothing, least of all the token.
func TestAPITokenOnlyToOwnNode(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	var asked atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Write([]byte("{}"))
	}))
	srv.Start()
	defer srv.Close()
	rewriteConfig(t, n.config, func(c *config.Config) { c.Dashboard.Listen = srv.Listener.Addr().String() })
	toxmail(t, "status", "--config", n.config).failed(t, exitFailure, "toxmail status: ", "toxmail is not running")
	toxmail(t, "contacts", "requests", "--config", n.config).failed(t, exitFailure, "toxmail contacts: ", "toxmail is not running")
	if got := asked.Load(); got != 0 {
		t.Fatalf("the program on the dashboard's port was asked %d times", got)
	}
}

// TestAPINodeElsewhere: a node holds the data directory, but nothing
// answers at the config's dashboard.listen (the node runs with another
// config): the command says so, instead of "not running" and a `toxmail
// run` that would fail on the lock.
func TestAPINodeElsewhere(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	rewriteConfig(t, n.config, func(c *config.Config) { c.Dashboard.Listen = closed })
	lock, err := os.OpenFile(filepath.Join(n.dir, "toxmail.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.WriteString("4242\n"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	toxmail(t, "status", "--config", n.config).failed(t, exitFailure, "toxmail status: ",
		"a node (pid 4242) runs on "+n.dir, closed, "another config")
}
