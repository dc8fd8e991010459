package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The whole story over real Tox on loopback: carol gets alice's mail
// through bob while alice is offline, and alice sees the ack later.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("three real Tox nodes: about a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	err := Run(ctx, Options{JSON: true, Stdout: &out, Stderr: &errs, StepTimeout: 90 * time.Second})
	t.Logf("timeline:\n%s", errs.String())
	if err != nil {
		t.Fatalf("demo: %v\nstdout: %s", err, out.String())
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	if !r.Delivered || !r.AckSeen || r.Relay != "bob" || r.Seconds <= 0 {
		t.Errorf("result %+v, want delivered, ack seen, relay bob", r)
	}
	if r.Path != 2 {
		t.Errorf("path length %d, want 2 (alice → bob → carol)", r.Path)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("stdout has more than one line:\n%s", out.String())
	}
}

// A dead --bootstrap fails with a line that names it and says what to
// check, instead of a bare timeout.
func TestDemoDeadBootstrap(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("AB", 32)
	port, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	bs := fmt.Sprintf("127.0.0.1:%d:%s", port, key) // nothing listens there
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err = Run(ctx, Options{JSON: true, Bootstrap: bs, Stdout: &stdout, Stderr: &stderr, StepTimeout: 4 * time.Second})
	if err == nil {
		t.Fatal("the demo passed with a bootstrap node that does not exist")
	}
	for _, want := range []string{"timed out", "no node joined the Tox DHT through --bootstrap " + bs[:strings.LastIndexByte(bs, ':')], "tox-bootstrapd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestParseBootstrap(t *testing.T) {
	key := strings.Repeat("ab", 32)
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"127.0.0.1:33445:" + key, true},
		{"127.0.0.2:1:" + key, true},
		{"127.0.0.1:33445", false},
		{"127.0.0.1:0:" + key, false},
		{"127.0.0.1:33445:abcd", false},
		{"192.0.2.1:33445:" + key, false}, // not loopback: refused, never dialled
		{"localhost:33445:" + key, false},
	} {
		_, err := parseBootstrap(c.in)
		if (err == nil) != c.ok {
			t.Errorf("parseBootstrap(%q): err %v, want ok=%v", c.in, err, c.ok)
		}
	}
	if _, err := parseBootstrap("127.0.0.1:33445"); err == nil || !strings.Contains(err.Error(), "no public key") {
		t.Errorf("a bootstrap node without its key: %v, want it to say so", err)
	}
}
