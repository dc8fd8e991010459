package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestSetPasswordHash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	c := Default()
	c.Dashboard.Token = testToken
	c.SMTP.Users = []User{{Name: "alice", PasswordHash: testHash(t)}, {Name: "bob", PasswordHash: testHash(t)}}
	if err := WriteNew(path, &c); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	h, err := bcrypt.GenerateFromPassword([]byte("new secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := SetPasswordHash(path, "bob", string(h)); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Users()["bob"] != string(h) || got.Users()["alice"] != c.SMTP.Users[0].PasswordHash {
		t.Errorf("users after the change: %v", got.Users())
	}
	// Only the hash changed: the same lines, comments included, but one.
	bl, al := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(bl) != len(al) {
		t.Fatalf("%d lines before, %d after", len(bl), len(al))
	}
	var changed []string
	for i := range bl {
		if bl[i] != al[i] {
			changed = append(changed, al[i])
		}
	}
	if len(changed) != 1 || changed[0] != `password_hash = "`+string(h)+`"` {
		t.Errorf("changed lines: %q", changed)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o after the change, want 0600", fi.Mode().Perm())
	}

	err = SetPasswordHash(path, "carol", string(h))
	if !errors.Is(err, ErrNoSuchUser) || !strings.Contains(err.Error(), `"alice", "bob"`) {
		t.Errorf("unknown user: %v, want ErrNoSuchUser listing alice and bob", err)
	}
	if err := SetPasswordHash(path, "bob", "not a hash"); err == nil {
		t.Error("a bad hash was written")
	}
	if now, _ := os.ReadFile(path); string(now) != string(after) {
		t.Error("a refused change altered the file")
	}
}

// Users written as inline tables, by hand, are found and changed too.
func TestSetPasswordHashInline(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	doc := "# mine\n[smtp]\nusers = [ { name = \"alice\", password_hash = '" + testHash(t) + "' } ] # inline\n" +
		"[dashboard]\ntoken = \"" + testToken + "\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if err := SetPasswordHash(path, "alice", string(h)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# mine\n[smtp]\nusers = [ { name = \"alice\", password_hash = \"" + string(h) + "\" } ] # inline\n" +
		"[dashboard]\ntoken = \"" + testToken + "\"\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// AddUser appends a [[smtp.users]] table and leaves the rest of the file
// as it was; it refuses a user the file has, and a file whose users are an
// inline array (a table after it would not be read).
func TestAddUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	c := Default()
	c.Dashboard.Token = testToken
	if err := WriteNew(path, &c); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	h := testHash(t)
	if err := AddUser(path, "carol", h); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(after), string(before)) {
		t.Error("AddUser changed the file before its end")
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Users()["carol"] != h {
		t.Fatalf("users after AddUser: %v", got.Users())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := AddUser(path, "carol", h); !errors.Is(err, ErrUserExists) {
		t.Errorf("adding carol again: %v, want ErrUserExists", err)
	}
	if err := AddUser(path, "dave", h); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(path); err != nil || len(got.Users()) != 2 {
		t.Fatalf("after a second AddUser: %v, %v", got.Users(), err)
	}

	inline := filepath.Join(t.TempDir(), FileName)
	doc := "[smtp]\nusers = [ { name = \"alice\", password_hash = '" + h + "' } ]\n[dashboard]\ntoken = \"" + testToken + "\"\n"
	if err := os.WriteFile(inline, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(inline, "bob", h); err == nil || !strings.Contains(err.Error(), "by hand") {
		t.Errorf("AddUser to inline users: %v, want an error saying to add it by hand", err)
	}
	if now, _ := os.ReadFile(inline); string(now) != doc {
		t.Error("a refused AddUser changed the file")
	}
}
