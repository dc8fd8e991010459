package config

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/toxmail/toxmail/tox"
)

// initConfig is what `toxmail init` writes: the defaults, one user and a
// token, in dir.
func initConfig(t testing.TB, dir string) Config {
	c := Default()
	c.Path = filepath.Join(dir, FileName)
	c.DataDir = dir // what Parse makes of "."
	c.SMTP.Users = []User{{Name: "alice", PasswordHash: testHash(t)}}
	c.Dashboard.Token = NewToken()
	return c
}

func TestTemplateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := initConfig(t, dir)
	tpl := Template(&c)
	got, err := Parse(tpl, c.Path)
	if err != nil {
		t.Fatalf("Parse(Template(c)): %v", err)
	}
	if !reflect.DeepEqual(got, &c) {
		t.Errorf("Parse(Template(c)):\n got %+v\nwant %+v", got, &c)
	}
	if !bytes.Contains(tpl, []byte(c.Dashboard.Token)) || !bytes.Contains(tpl, []byte(c.SMTP.Users[0].PasswordHash)) {
		t.Error("the template does not carry the token and the password hash")
	}

	// Every key set to something else, bootstrap nodes included.
	full, err := Parse([]byte(fullDoc(testHash(t))), filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(Template(full), full.Path)
	if err != nil {
		t.Fatalf("Parse(Template(full)): %v\n%s", err, Template(full))
	}
	if !reflect.DeepEqual(again, full) {
		t.Errorf("Parse(Template(full)):\n got %+v\nwant %+v", again, full)
	}
}

// The template of Default itself, written by hand with "." as data_dir,
// parses back to Default once a token is added.
func TestTemplateOfDefault(t *testing.T) {
	c := Default()
	c.Dashboard.Token = NewToken()
	dir := t.TempDir()
	got, err := Parse(Template(&c), filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	c.Path, c.DataDir = filepath.Join(dir, FileName), dir
	if !reflect.DeepEqual(got, &c) {
		t.Errorf("got %+v\nwant %+v", got, &c)
	}
}

// Every key of the file is in the template, uncommented, under its
// section, with comment lines right above it that give its default (for
// section keys) and its allowed values.
func TestTemplateCommentsEveryKey(t *testing.T) {
	c := initConfig(t, t.TempDir())
	c.Tox.Bootstrap = []BootstrapNode{{Host: "tox.example.org", Port: 33445, PublicKey: tox.PublicKey{1}}}
	lines := strings.Split(string(Template(&c)), "\n")
	seen := make(map[string]int)
	section := ""
	for i, line := range lines {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[["):
			section = strings.Trim(line, "[]")
			continue
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			continue
		}
		key, _, ok := strings.Cut(line, " = ")
		if !ok {
			t.Errorf("line %d: %q is neither a comment, a section nor a key", i+1, line)
			continue
		}
		full := dotted(section, key)
		seen[full]++
		var block []string
		for j := i - 1; j >= 0 && strings.HasPrefix(lines[j], "#"); j-- {
			block = append([]string{lines[j]}, block...)
		}
		text := strings.Join(block, "\n")
		switch {
		case len(block) == 0:
			t.Errorf("line %d: %s has no comment above it", i+1, full)
		case !strings.Contains(text, "Allowed: "):
			t.Errorf("line %d: the comment of %s does not give its allowed values:\n%s", i+1, full, text)
		case keyIndex[full] != nil && !strings.Contains(text, "Default: "):
			t.Errorf("line %d: the comment of %s does not give its default:\n%s", i+1, full, text)
		}
	}
	for _, k := range allKeys() {
		if sectionKind(k) != "" {
			continue
		}
		if seen[k] != 1 {
			t.Errorf("key %s appears %d times in the template, want once", k, seen[k])
		}
	}
	for k := range seen {
		if !slicesContains(allKeys(), k) {
			t.Errorf("the template has key %s, which the schema lacks", k)
		}
	}
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestTemplateLineLength(t *testing.T) {
	c := Default()
	for i, line := range strings.Split(string(Template(&c)), "\n") {
		if strings.HasPrefix(line, "#") && utf8.RuneCountInString(line) > 80 {
			t.Errorf("line %d has %d characters: %s", i+1, utf8.RuneCountInString(line), line)
		}
	}
}

var (
	ipv4Like = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
	ipv6Like = regexp.MustCompile(`\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?`)
	hexKey   = regexp.MustCompile(`[0-9A-Fa-f]{64}`)
)

// publicAddresses returns the IP addresses in text that are not loopback,
// unspecified or private, and every run of 64 hex digits (a Tox key).
func publicAddresses(text string) []string {
	var out []string
	for _, m := range append(ipv4Like.FindAllString(text, -1), ipv6Like.FindAllString(text, -1)...) {
		ip, err := netip.ParseAddr(strings.Trim(m, "[]"))
		if err == nil && !ip.IsLoopback() && !ip.IsUnspecified() && !ip.IsPrivate() {
			out = append(out, m)
		}
	}
	return append(out, hexKey.FindAllString(text, -1)...)
}

// No public bootstrap node is built in: not in Default, not in the
// template, not anywhere in this package's code or tests.
func TestNoPublicBootstrapNode(t *testing.T) {
	c := Default()
	if len(c.Tox.Bootstrap) != 0 {
		t.Fatalf("Default has bootstrap nodes: %v", c.Tox.Bootstrap)
	}
	tpl := string(Template(&c))
	if bad := publicAddresses(tpl); len(bad) > 0 {
		t.Errorf("the template has public addresses or keys: %q", bad)
	}
	if regexp.MustCompile(`(?m)^\[\[tox\.bootstrap\]\]`).MatchString(tpl) {
		t.Error("the template of Default has an uncommented [[tox.bootstrap]]")
	}
	for _, want := range []string{"https://nodes.tox.chat", `#   host = "tox.example.org"`, `#   public_key = "<64 hex digits>"`} {
		if !strings.Contains(tpl, want) {
			t.Errorf("the template lacks %q", want)
		}
	}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bad := publicAddresses(string(src)); len(bad) > 0 {
			t.Errorf("%s has public addresses or keys: %q", f, bad)
		}
	}
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	c := initConfig(t, dir)
	path := filepath.Join(dir, FileName)
	if err := WriteNew(path, &c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !bytes.Equal(data, Template(&c)) {
		t.Error("the file is not Template(c)")
	}
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, &c) {
		t.Errorf("Load(WriteNew) = %+v, %v", got, err)
	}

	c2 := Default()
	c2.Name = "other"
	err = WriteNew(path, &c2)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("WriteNew over an existing file = %v, want a refusal naming it", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("WriteNew changed the existing file")
	}
	if err := WriteNew(filepath.Join(dir, "missing", FileName), &c); err == nil {
		t.Error("WriteNew into a missing directory succeeded")
	}
}
