package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
)

func testID(b byte) gateway.ToxID {
	var pk envelope.PublicKey
	for i := range pk {
		pk[i] = b + byte(i)
	}
	return gateway.NewToxID(pk, [4]byte{1, 2, 3, b})
}

func TestContactsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ContactsFile)
	added := time.Date(2024, 5, 1, 12, 30, 15, 123456789, time.FixedZone("CEST", 2*3600))
	want := []gateway.Contact{
		{Name: "alice", Address: "alice@example.org", ID: testID(1), Source: gateway.SourceToxID, Added: added},
		{Name: "bob", ID: testID(2), Source: gateway.SourceToxID},
		{Address: "carol@example.net", ID: testID(3), Source: gateway.SourceDNS, Added: added.Add(time.Hour)},
		{Name: "élodie", Address: `"Élodie D." <elodie@example.org>`, ID: testID(4), Source: gateway.SourceContacts, Added: added},
	}
	book, err := gateway.NewContactBook(want)
	if err != nil {
		t.Fatal(err)
	}
	want = book.List() // normalised: addresses become bare
	if want[3].Address != "elodie@example.org" {
		t.Fatalf("the book kept %q", want[3].Address)
	}
	if err := SaveContacts(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadContacts(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d contacts, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Added.Equal(want[i].Added) {
			t.Errorf("contact %d: Added %v, want %v", i, got[i].Added, want[i].Added)
		}
		got[i].Added, want[i].Added = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	again, err := gateway.NewContactBook(got)
	if err != nil || again.Len() != len(want) {
		t.Fatalf("NewContactBook(loaded) = %v", err)
	}
	if c, ok := again.Lookup("carol@example.net"); !ok || c.Source != gateway.SourceDNS {
		t.Errorf("Lookup(carol) = %+v, %v", c, ok)
	}

	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# ") || !strings.Contains(string(data), "`toxmail contacts` and the dashboard") {
		t.Errorf("no header comment:\n%s", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}

	// Saving over a file readable by others leaves it 0600; an empty
	// book is an empty file of comments.
	os.Chmod(path, 0o644)
	if err := SaveContacts(path, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after rewrite %v", fi.Mode().Perm())
	}
	if got, err := LoadContacts(path); err != nil || len(got) != 0 {
		t.Errorf("LoadContacts(empty book) = %v, %v", got, err)
	}
}

func TestLoadContactsMissing(t *testing.T) {
	got, err := LoadContacts(filepath.Join(t.TempDir(), ContactsFile))
	if err != nil || got != nil {
		t.Errorf("LoadContacts(missing) = %v, %v; want nil, nil", got, err)
	}
}

func TestLoadContactsErrors(t *testing.T) {
	id1, id2 := testID(1).String(), testID(2).String()
	broken := id1[:75] + "0"
	if broken == id1 {
		broken = id1[:75] + "1"
	}
	for _, tc := range []struct {
		doc  string
		want string
	}{
		{"[[contact]]\nname = \"a\"\ntox_id = \"" + id1 + "\"\nnick = \"x\"\n", "contacts.toml:4: unknown key contact.nick"},
		{"[[contact]]\nname = \"a\"\ntox_id = \"" + broken + "\"\n", "contacts.toml:3: contact[0].tox_id = \"" + broken + "\": want a Tox ID of 76 hex digits"},
		{"[[contact]]\nname = \"a\"\n", "contacts.toml:1: contact[0].tox_id: want a Tox ID"},
		{"[[contact]]\nname = \"a\"\ntox_id = \"" + id1 + "\"\n\n[[contact]]\nname = \"A\"\ntox_id = \"" + id2 + "\"\n", "contacts.toml:6: contact[1].name = \"A\": \"A\" is listed twice"},
		{"[[contact]]\nname = \"a\"\ntox_id = \"" + id1 + "\"\nsource = \"rumour\"\n", "contacts.toml:4: contact[0].source = \"rumour\": want \"toxid\""},
		{"[[contact]]\nname = \"a\"\ntox_id = \"" + id1 + "\"\nsource = \"friend\"\n", "contacts.toml:4: contact[0].source = \"friend\": want \"toxid\""}, // a resolution's, never stored
		{"[[contact]]\nname = \"a\"\ntox_id = \"" + id1 + "\"\nadded = \"yesterday\"\n", "contacts.toml:4: contact[0].added = \"yesterday\": want an RFC 3339 date"},
		{"[[contact]]\nname = \"a b\"\ntox_id = \"" + id1 + "\"\n", "contacts.toml:1: contact[0]: invalid contact"},
		{"[[contact]]\nname = 5\n", "contacts.toml:2: contact[0].name = 5: want a string"},
		{"[[contact]\n", "contacts.toml:1:"},
	} {
		path := filepath.Join(t.TempDir(), ContactsFile)
		os.WriteFile(path, []byte(tc.doc), 0o600)
		_, err := LoadContacts(path)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), filepath.Dir(path)) {
			t.Errorf("LoadContacts(%q) = %v, want %q", tc.doc, err, tc.want)
		}
	}
	// added may also be written as a string.
	path := filepath.Join(t.TempDir(), ContactsFile)
	os.WriteFile(path, []byte("[[contact]]\nname = \"a\"\ntox_id = \""+id1+"\"\nadded = \"2024-05-01T12:00:00Z\"\n"), 0o600)
	if cs, err := LoadContacts(path); err != nil || !cs[0].Added.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("added as a string: %v, %v", cs, err)
	}
}

// TestContactsWritableByOthersRefused: an address book others may write
// is refused; it decides which key mail to an address is sealed to.
func TestContactsWritableByOthersRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), ContactsFile)
	if err := SaveContacts(path, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadContacts(path); err != nil {
		t.Fatalf("as written: %v", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadContacts(path); !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("mode 0666: got %v, want ErrInsecureFile and the chmod to run", err)
	}
}

// A book an older toxmail saved loads though a new contact could not be
// so: a name of 32 hex digits, a Tox ID whose key no Tox node can have
// (mail to it is refused at RCPT TO instead). The node would not start
// otherwise, and `toxmail contacts remove` could not mend the file.
func TestLoadContactsFromOlderVersions(t *testing.T) {
	var pk envelope.PublicKey
	for i := range pk {
		pk[i] = byte(0x90 + i)
	}
	bad := gateway.NewToxID(pk, [4]byte{1, 2, 3, 4})
	path := filepath.Join(t.TempDir(), ContactsFile)
	text := "[[contact]]\nname = \"0123456789abcdef0123456789abcdef\"\ntox_id = \"" + testID(1).String() + "\"\n" +
		"[[contact]]\nname = \"old\"\ntox_id = \"" + bad.String() + "\"\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, err := LoadContacts(path)
	if err != nil || len(cs) != 2 || cs[1].ID != bad {
		t.Fatalf("LoadContacts: %+v, %v", cs, err)
	}
}
