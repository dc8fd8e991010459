package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/sim"
)

func testCLI() (*cli, *bytes.Buffer) {
	var out bytes.Buffer
	return &cli{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}, &out
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		cfg  string
		dns  string
	}{
		{[]string{"bob", "ID"}, []string{"bob", "ID"}, "", ""},
		{[]string{"--config", "x.toml", "bob", "ID"}, []string{"bob", "ID"}, "x.toml", ""},
		{[]string{"bob", "ID", "--config", "x.toml"}, []string{"bob", "ID"}, "x.toml", ""},
		{[]string{"bob", "--config=x.toml", "ID", "--dns", "1.2.3.4:53"}, []string{"bob", "ID"}, "x.toml", "1.2.3.4:53"},
		{[]string{"--dns", "h:53", "--", "--bob", "ID"}, []string{"--bob", "ID"}, "", "h:53"},
		{[]string{"bob", "--", "--config", "x"}, []string{"bob", "--config", "x"}, "", ""},
		{[]string{"-", "ID"}, []string{"-", "ID"}, "", ""},
	}
	for _, tt := range tests {
		c, _ := testCLI()
		f := c.flags("contacts add", "toxmail contacts add NAME ID", "")
		cfg := f.configFlag()
		dns := f.String("dns", "", "")
		pos, err := f.parse(tt.args)
		if err != nil {
			t.Errorf("parse(%q): %v", tt.args, err)
			continue
		}
		if !slices.Equal(pos, tt.pos) || *cfg != tt.cfg || *dns != tt.dns {
			t.Errorf("parse(%q): got %q, config %q, dns %q; want %q, %q, %q", tt.args, pos, *cfg, *dns, tt.pos, tt.cfg, tt.dns)
		}
	}
}

func TestParseErrors(t *testing.T) {
	c, out := testCLI()
	f := c.flags("id", "toxmail id --config FILE", "Prints the ID.")
	f.configFlag()
	if _, err := f.parse([]string{"--help"}); !errors.Is(err, errHelp) {
		t.Errorf("--help: got %v, want errHelp", err)
	}
	if !bytes.Contains(out.Bytes(), []byte("--config FILE")) {
		t.Errorf("--help printed %q", out.String())
	}
	_, err := f.parse([]string{"--nope"})
	msg, code := exitCode(err)
	if code != exitUsage || msg != "flag provided but not defined: --nope; see `toxmail id --help`" {
		t.Errorf("--nope: got %d %q", code, msg)
	}
	if err := f.positional([]string{"a"}); err == nil {
		t.Error("an unexpected argument was accepted")
	}
	if err := f.positional(nil, "NAME"); err == nil {
		t.Error("a missing argument was accepted")
	}
}

// TestFlagValueErrors: a bad value is worded by what its flag wants, and
// a text flag given as "" is refused rather than taking its default.
func TestFlagValueErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--json=maybe"}, `invalid boolean value "maybe" for --json: want true or false; see`},
		{[]string{"--jobs", "1.5"}, `invalid value "1.5" for flag --jobs: not a whole number of zero or more; see`},
		{[]string{"--seed", "-x"}, `invalid value "-x" for flag --seed: not a whole number; see`}, // -1 is a number here
		{[]string{"--jobs", "-x"}, `invalid value "-x" for flag --jobs: not a whole number of zero or more; see`},
		{[]string{"--degree", "x"}, `invalid value "x" for flag --degree: not a number; see`},
		{[]string{"--config", ""}, "--config is empty; give FILE, or leave --config out"},
		{[]string{"a", "--dns= "}, "--dns is empty; give HOST:PORT, or leave --dns out"},
		{[]string{"--", "--dns="}, ""}, // after "--", an argument
		{[]string{"--window", "1h"}, ""},
	} {
		c, _ := testCLI()
		f := c.flags("x", "toxmail x", "")
		f.configFlag()
		f.Bool("json", false, "")
		f.Uint("jobs", 0, "")
		f.Int64("seed", 0, "")
		f.Float64("degree", 0, "")
		f.String("dns", "", "ask this `HOST:PORT`")
		var d time.Duration
		f.Var(durationValue{&d}, "window", "") // not a flag.Getter
		_, err := f.parse(tt.args)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.args, err)
			}
			continue
		}
		msg, code := exitCode(err)
		if code != exitUsage || !strings.HasPrefix(msg, tt.want) {
			t.Errorf("%q: got %d %q, want 2 %q…", tt.args, code, msg, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"2h", 2 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"d", 0, false},
		{"1.5d", 36 * time.Hour, true}, // as the config file takes it
		{"-1d", 0, false},
		{"1d-1h", 0, false}, // a sign goes only in front
		{"-1h", 0, false},
		{"forever", 0, false},
		{"1dx", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, d := range []time.Duration{24 * time.Hour, 90 * time.Minute, 7 * 24 * time.Hour} {
		if got, err := parseDuration(formatDuration(d)); err != nil || got != d {
			t.Errorf("formatDuration(%v) = %q does not read back: %v, %v", d, formatDuration(d), got, err)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"config: x.toml:3: bad", "x.toml:3: bad"},
		{"daemon: loading: tox: load_profile: X", "loading: tox: load_profile: X"},
		{"sim: ttl = 0 is out of range (1..64)", "ttl = 0 is out of range (1..64)"},
		{"a.toml:1: one\na.toml:2: two\n", "a.toml:1: one; a.toml:2: two"},
		{"bell\a here", "bell  here"},
	}
	for _, tt := range tests {
		if got := clean(errors.New(tt.in)); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A value refused by sim.Config.Validate is explained where it was set:
// a flag (or a default) is a usage error naming the flag; a value the
// config file set is shown at its line, as the config's own errors are.
func TestSimInvalid(t *testing.T) {
	c, _ := testCLI()
	f := c.flags("sim", "", "")
	f.Int("days", 0, "")
	f.Float64("always-on", 0, "")
	f.Int("size", 0, "")
	f.Int("seeds", 0, "")
	f.String("strategies", "", "")
	cfg := filepath.Join(t.TempDir(), "toxmail.toml")
	if err := os.WriteFile(cfg, []byte("[sim]\n# a comment\nseeds = 0\nmean_on = \"0s\"\nmean_off = \"4h\"\nstrategies = [\"flood\", \"bogus\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	knob := func(k, v, problem string) error { return &sim.KnobError{Knob: k, Value: v, Problem: problem} }
	tests := []struct {
		err   error
		given string // the flag given, if any
		path  string // the config file, if any
		code  int
		want  string
	}{
		{knob("days", "0", "out of range ((0, 365])"), "days", "", exitUsage,
			"days = 0 is out of range ((0, 365]); change --days (or days in the [sim] section of the config)"},
		{knob("always_on", "2", "out of range (0..1)"), "", "", exitUsage,
			"always_on = 2 is out of range (0..1); change --always-on (or always_on in the [sim] section of the config)"},
		{knob("size_median", "0", "out of range (1..size_max)"), "size", cfg, exitUsage,
			"size_median = 0 is out of range (1..size_max); change --size (or size_median in the [sim] section of the config)"},
		{knob("latency", "2h", "out of range (0s..1h)"), "", "", exitUsage,
			"latency = 2h is out of range (0s..1h); change latency in the [sim] section of the config"},
		{errors.New("sim: something else"), "", cfg, exitUsage, "something else; see `toxmail sim --help`"},
		// From the file: at its line, with its value as written.
		{knob("seeds", "0", "out of range (1..1000)"), "", cfg, exitFailure,
			cfg + ":3: sim.seeds = 0: out of range: want 1..1000; change seeds in the [sim] section of " + cfg + ", or give --seeds"},
		{knob("mean_on", "0s", "out of range (> 0)"), "", cfg, exitFailure,
			cfg + `:4: sim.mean_on = "0s": out of range: want > 0; change mean_on in the [sim] section of ` + cfg},
		// A list's line shows the whole list: the error names the item.
		{&sim.KnobError{Knob: "strategies", Value: `"bogus"`, Problem: "not one of [direct relay flood flood-noack]", Item: true}, "", cfg, exitFailure,
			cfg + `:6: sim.strategies = ["flood", "bogus"]: "bogus" is not one of [direct relay flood flood-noack]; change strategies in the [sim] section of ` + cfg + ", or give --strategies"},
		// The flag replaced the file's value: the flag is wrong.
		{knob("seeds", "0", "out of range (1..1000)"), "seeds", cfg, exitUsage,
			"seeds = 0 is out of range (1..1000); change --seeds (or seeds in the [sim] section of the config)"},
		// A default the file does not set.
		{knob("days", "400", "out of range ((0, 365])"), "", cfg, exitUsage,
			"days = 400 is out of range ((0, 365]); change --days (or days in the [sim] section of the config)"},
	}
	for _, tt := range tests {
		given := map[string]bool{tt.given: tt.given != ""}
		err := simInvalid(f, tt.err, given, tt.path)
		var ce *cliError
		if !errors.As(err, &ce) || ce.code != tt.code || ce.msg != tt.want {
			t.Errorf("simInvalid(%v, given %q, %q) = %#v,\nwant code %d, %q", tt.err, tt.given, tt.path, err, tt.code, tt.want)
		}
	}
}

// TestSizeFlag: --size takes bytes as the config writes them.
func TestSizeFlag(t *testing.T) {
	var n int
	v := sizeValue{&n}
	for in, want := range map[string]int{"4096": 4096, "4KiB": 4096, "1.5kB": 1500, "2 MiB": 2 << 20} {
		if err := v.Set(in); err != nil || n != want {
			t.Errorf("Set(%q): %d, %v; want %d", in, n, err, want)
		}
	}
	for _, in := range []string{"", "4XB", "-1", "8GiB"} {
		if err := v.Set(in); err == nil {
			t.Errorf("Set(%q) took it as %d", in, n)
		}
	}
}
