package tox

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfileRoundTrip(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	sd, err := x.Savedata()
	if err != nil || len(sd) == 0 {
		t.Fatalf("Savedata: %d bytes, %v", len(sd), err)
	}
	dir := t.TempDir()
	for _, pass := range [][]byte{nil, []byte("s3cret passphrase")} {
		path := filepath.Join(dir, "profile.tox")
		if err := SaveProfile(path, sd, pass); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
		}
		raw, _ := os.ReadFile(path)
		if IsEncrypted(raw) != (len(pass) > 0) {
			t.Fatalf("passphrase %q: file encrypted = %v", pass, IsEncrypted(raw))
		}
		if len(pass) > 0 && bytes.Contains(raw, sd[len(sd)/2:len(sd)/2+32]) {
			t.Fatal("encrypted profile contains plaintext")
		}
		got, err := LoadProfile(path, pass)
		if err != nil || !bytes.Equal(got, sd) {
			t.Fatalf("LoadProfile: %d bytes, %v", len(got), err)
		}
		o := pairOptions(t)
		o.Savedata = got
		y := pairNew(t, o)
		if y.Address() != x.Address() {
			t.Fatalf("restored address %v, want %v", y.Address(), x.Address())
		}
		y.Close()
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestProfileErrors(t *testing.T) {
	dir := t.TempDir()
	sd := bytes.Repeat([]byte("savedata"), 40)
	enc := filepath.Join(dir, "enc.tox")
	if err := SaveProfile(enc, sd, []byte("right")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfile(enc, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) ||
		!strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: got %v", err)
	}
	if _, err := LoadProfile(enc, nil); !errors.Is(err, ErrPassphraseRequired) {
		t.Errorf("no passphrase: got %v", err)
	}
	// A passphrase for a plain profile is ignored (the next save encrypts).
	plain := filepath.Join(dir, "plain.tox")
	if err := SaveProfile(plain, sd, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadProfile(plain, []byte("pw")); err != nil || !bytes.Equal(got, sd) {
		t.Errorf("plain profile with passphrase: %v", err)
	}
	// Overwriting keeps 0600 even if the old file was wider.
	if err := os.Chmod(plain, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfile(plain, nil); !errors.Is(err, ErrInsecureProfile) ||
		!strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("mode 0644: got %v", err)
	}
	if err := SaveProfile(plain, sd, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfile(plain, nil); err != nil {
		t.Errorf("after re-save: %v", err)
	}
	if _, err := LoadProfile(filepath.Join(dir, "missing.tox"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
	empty := filepath.Join(dir, "empty.tox")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfile(empty, nil); !errors.Is(err, ErrBadFormat) {
		t.Errorf("empty file: got %v", err)
	}
	if _, err := LoadProfile(dir, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("directory: got %v", err)
	}
	if err := SaveProfile(filepath.Join(dir, "x.tox"), nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty savedata: got %v", err)
	}
	raw, _ := os.ReadFile(enc)
	if err := SaveProfile(filepath.Join(dir, "x.tox"), raw, []byte("again")); !errors.Is(err, ErrInvalid) {
		t.Errorf("double encryption: got %v", err)
	}
	if err := SaveProfile(filepath.Join(dir, "no", "such", "dir.tox"), sd, nil); err == nil {
		t.Error("save into a missing directory should fail")
	}
	// Tampering is detected like a wrong passphrase.
	raw[len(raw)-1] ^= 1
	if err := os.WriteFile(enc, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfile(enc, []byte("right")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("tampered profile: got %v", err)
	}
	if _, err := Decrypt(sd, []byte("x")); !errors.Is(err, ErrBadFormat) {
		t.Errorf("Decrypt of plain data: got %v", err)
	}
}

// The copies a SaveProfile cut short leaves (".NAME.tmp-*", secret key
// and all) are removed; the profile, other files and a directory of that
// name stay.
func TestRemoveProfileTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "toxmail.tox")
	for _, n := range []string{"toxmail.tox", ".toxmail.tox.tmp-123", ".toxmail.tox.tmp-9", ".other.tox.tmp-1", ".toxmail.tox.tmp-"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".toxmail.tox.tmp-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	removed, err := RemoveProfileTemps(path)
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v, %v; want the two temporaries", removed, err)
	}
	left, _ := os.ReadDir(dir)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != ".other.tox.tmp-1,.toxmail.tox.tmp-,.toxmail.tox.tmp-dir,toxmail.tox" {
		t.Errorf("left %s", got)
	}
}
