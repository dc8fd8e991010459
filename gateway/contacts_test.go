package gateway_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/gateway"
)

func newTestBook(t testing.TB, entries ...gateway.Contact) *gateway.ContactBook {
	t.Helper()
	b, err := gateway.NewContactBook(entries)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContactBookLookup(t *testing.T) {
	bob, carol := resolveTestID(2), resolveTestID(3)
	b := newTestBook(t,
		gateway.Contact{Name: "bob", Address: "Bob.Smith@Example.ORG", ID: bob, Source: gateway.SourceToxID},
		gateway.Contact{Name: "Carol", ID: carol},
	)
	tests := []struct {
		key  string
		want string // ID of the contact found; "" for none
	}{
		{"bob", bob.String()},
		{"BOB", bob.String()},
		{" bob ", bob.String()},
		{"Bob.Smith@example.org", bob.String()},
		{"Bob.Smith@EXAMPLE.org", bob.String()},
		{"Bob Smith <Bob.Smith@example.org>", bob.String()},
		{"bob.smith@example.org", bob.String()}, // local parts match without case, too: no slip to DNS
		{"carol", carol.String()},
		{"cArOl", carol.String()},
		{"carol@example.org", ""},
		{"dave", ""},
		{"", ""},
		{"@@", ""},
	}
	for _, tt := range tests {
		c, ok := b.Lookup(tt.key)
		got := ""
		if ok {
			got = c.ID.String()
		}
		if got != tt.want {
			t.Errorf("Lookup(%q): got %q, want %q", tt.key, got, tt.want)
		}
	}
	c, _ := b.Lookup("bob")
	if got, want := c.Address, "Bob.Smith@example.org"; got != want {
		t.Errorf("stored address: got %q, want %q", got, want)
	}
}

// TestContactBookLongAddresses: addresses past RFC 5321's 64-byte local
// part, and IDN domains whose UTF-8 label is past 63 bytes (their xn--
// form is shorter), load: an address book that loaded once must keep
// loading.
func TestContactBookLongAddresses(t *testing.T) {
	long := strings.Repeat("l", 70) + "@example.org"
	idn := "u@" + strings.Repeat("例", 22) + ".jp"
	b := newTestBook(t,
		gateway.Contact{Name: "long", Address: long, ID: resolveTestID(2)},
		gateway.Contact{Name: "idn", Address: idn, ID: resolveTestID(3)},
	)
	for _, a := range []string{long, idn} {
		if _, ok := b.Lookup(a); !ok {
			t.Errorf("%s not found", a)
		}
	}
}

func TestContactBookInvalid(t *testing.T) {
	good := resolveTestID(1)
	bad := good
	bad[37] ^= 1
	tests := []struct {
		name string
		c    gateway.Contact
		msg  string
	}{
		{"nothing", gateway.Contact{ID: good}, "needs a name or a mail address"},
		{"bad checksum", gateway.Contact{Name: "x", ID: bad}, "checksum"},
		{"no ID", gateway.Contact{Name: "x"}, "no Tox ID"},
		{"name with @", gateway.Contact{Name: "a@b", Address: "", ID: good}, "'@'"},
		{"name with space", gateway.Contact{Name: "a b", ID: good}, "' '"},
		{"long name", gateway.Contact{Name: strings.Repeat("n", 65), ID: good}, "at most 64"},
		{"malformed address", gateway.Contact{Address: "not an address", ID: good}, "malformed mail address"},
		{"friend's bare key", gateway.Contact{Name: "dave", ID: good, Source: gateway.SourceFriend}, "needs the friend's 76-digit Tox ID"},
		{"@tox address", gateway.Contact{Address: good.String() + "@TOX", ID: good}, "raw Tox IDs"},
	}
	for _, tt := range tests {
		_, err := gateway.NewContactBook([]gateway.Contact{tt.c})
		if !errors.Is(err, gateway.ErrContactInvalid) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want ErrContactInvalid mentioning %q", tt.name, err, tt.msg)
		}
	}
}

func TestContactBookAddConflictsAndUpdates(t *testing.T) {
	a, b2, c := resolveTestID(1), resolveTestID(2), resolveTestID(3)
	book := newTestBook(t,
		gateway.Contact{Name: "alice", Address: "alice@example.org", ID: a},
		gateway.Contact{Name: "bob", ID: b2},
	)
	conflicts := []gateway.Contact{
		{Name: "ALICE", ID: c},                                          // name in use by an entry with an address
		{Address: "alice@EXAMPLE.org", ID: c},                           // address in use by an entry with a name
		{Name: "alice", Address: "alice2@example.org", ID: c},           // same name, other address
		{Name: "bob", Address: "alice@example.org", ID: c},              // name of one, address of another
		{Name: "robert", Address: "alice@example.org", ID: a},           // address in use
		{Name: "bob", Address: "bob@example.org", ID: resolveTestID(4)}, // bob has no address
	}
	for _, x := range conflicts {
		if err := book.Add(x); !errors.Is(err, gateway.ErrContactExists) {
			t.Errorf("Add(%+v): got %v, want ErrContactExists", x, err)
		}
	}
	// Same name and address (in any case): an update, in place.
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := book.Add(gateway.Contact{Name: "Alice", Address: "ALICE@Example.org", ID: c, Source: gateway.SourceDNS, Added: when}); err != nil {
		t.Fatal(err)
	}
	if err := book.Add(gateway.Contact{Name: "BOB", ID: a}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range book.List() {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", x.Name, x.Address, x.ID.PublicKey().Short(), x.Source))
	}
	want := []string{
		"Alice|ALICE@example.org|" + c.PublicKey().Short() + "|dns",
		"BOB||" + a.PublicKey().Short() + "|unknown",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("List: got %q, want %q", got, want)
	}
	if _, ok := book.ByKey(b2.PublicKey()); ok {
		t.Errorf("ByKey finds bob's old key after the update")
	}
	if x, ok := book.ByKey(c.PublicKey()); !ok || !x.Added.Equal(when) {
		t.Errorf("ByKey(new key): got %+v, %v", x, ok)
	}
}

func TestContactBookRemove(t *testing.T) {
	a := resolveTestID(1)
	book := newTestBook(t, gateway.Contact{Name: "alice", Address: "alice@example.org", ID: a})
	if !book.Remove("alice@EXAMPLE.org") {
		t.Fatal("Remove by address: nothing removed")
	}
	for _, key := range []string{"alice", "alice@example.org"} {
		if _, ok := book.Lookup(key); ok {
			t.Errorf("Lookup(%q) after Remove: found", key)
		}
	}
	if _, ok := book.ByKey(a.PublicKey()); ok {
		t.Errorf("ByKey after Remove: found")
	}
	if book.Remove("alice") {
		t.Errorf("second Remove removed something")
	}
	if got := book.Len(); got != 0 {
		t.Errorf("Len: got %d, want 0", got)
	}
	// The name is free again.
	if err := book.Add(gateway.Contact{Name: "alice", ID: a}); err != nil {
		t.Fatal(err)
	}
	if !book.Remove("Alice") || book.Len() != 0 {
		t.Errorf("Remove by name failed")
	}
}

func TestContactBookByKeyAndSenderAddress(t *testing.T) {
	a := resolveTestID(1)
	sameKey := gateway.NewToxID(a.PublicKey(), [4]byte{9, 9, 9, 9})
	d := resolveTestID(4)
	book := newTestBook(t,
		gateway.Contact{Name: "al", ID: a},
		gateway.Contact{Address: "alice@example.org", ID: sameKey, Source: gateway.SourceToxID},
		gateway.Contact{Address: "alice@example.net", ID: a},
		gateway.Contact{Name: "dave", Address: "dave@example.org", ID: d, Source: gateway.SourceDNS},
		gateway.Contact{Name: "eve", ID: resolveTestID(5)},
	)
	tests := []struct {
		key             gateway.ToxID
		address, source string
		ok              bool
	}{
		// Prefers an entry with an address, then the first added.
		{a, "alice@example.org", "address book", true},
		{d, "dave@example.org", "address book, ID from tox1 DNS, unauthenticated", true},
		{resolveTestID(5), "", "", false}, // a name, no address
		{resolveTestID(6), "", "", false},
	}
	for _, tt := range tests {
		addr, source, ok := book.SenderAddress(tt.key.PublicKey())
		if addr != tt.address || source != tt.source || ok != tt.ok {
			t.Errorf("SenderAddress(%s): got %q, %q, %v, want %q, %q, %v",
				tt.key.PublicKey().Short(), addr, source, ok, tt.address, tt.source, tt.ok)
		}
	}
	if c, ok := book.ByKey(resolveTestID(5).PublicKey()); !ok || c.Name != "eve" {
		t.Errorf("ByKey(eve): got %+v, %v", c, ok)
	}
}

func TestContactBookFileRoundTrip(t *testing.T) {
	book := newTestBook(t,
		gateway.Contact{Name: "alice", Address: "alice@example.org", ID: resolveTestID(1), Source: gateway.SourceDNS,
			Added: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)},
		gateway.Contact{Name: "bob", ID: resolveTestID(2), Source: gateway.SourceToxID},
	)
	data, err := json.Marshal(book.List())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Source":"dns"`) || !strings.Contains(string(data), resolveTestID(1).String()) {
		t.Errorf("got %s, want IDs and sources as text", data)
	}
	var entries []gateway.Contact
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	again := newTestBook(t, entries...)
	if got, want := fmt.Sprint(again.List()), fmt.Sprint(book.List()); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := gateway.NewContactBook(append(entries, entries[0])); !errors.Is(err, gateway.ErrContactExists) {
		t.Errorf("an entry listed twice: got %v, want ErrContactExists", err)
	}
}

func TestContactBookConcurrent(t *testing.T) {
	book := newTestBook(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				name := fmt.Sprintf("c%d", (g*7+i)%20)
				id := resolveTestID(byte(i % 20))
				switch i % 4 {
				case 0:
					book.Add(gateway.Contact{Name: name, Address: name + "@example.org", ID: id}) // may conflict
				case 1:
					book.Lookup(name)
					book.ByKey(id.PublicKey())
				case 2:
					book.Remove(name + "@example.org")
				case 3:
					for _, c := range book.List() {
						if !c.ID.Valid() {
							t.Errorf("List: invalid ID %q", c.ID)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	if n, l := book.Len(), len(book.List()); n != l {
		t.Errorf("Len %d, List %d", n, l)
	}
}

// One person, one entry: a second name (or address) for a Tox ID already
// in the book is refused, naming the entry that has it and how to rename.
func TestContactBookOneEntryPerKey(t *testing.T) {
	bob := resolveTestID(2)
	book := newTestBook(t, gateway.Contact{Name: "bob", ID: bob, Source: gateway.SourceToxID})
	sameKey := gateway.NewToxID(bob.PublicKey(), [4]byte{7, 7, 7, 7}) // another nospam, the same person
	for _, c := range []gateway.Contact{
		{Name: "bob2", ID: bob},
		{Name: "bob3", ID: sameKey},
		{Address: "bob@example.org", ID: bob},
		{Name: "robert", Address: "bob@example.org", ID: bob},
	} {
		err := book.Add(c)
		if !errors.Is(err, gateway.ErrContactExists) {
			t.Fatalf("Add(%+v): got %v, want ErrContactExists", c, err)
		}
		for _, want := range []string{`saved as "bob"`, "remove bob"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Add(%+v): %q does not say %q", c, err, want)
			}
		}
	}
	if got := book.Len(); got != 1 {
		t.Errorf("refused adds left %d entries, want 1", got)
	}
	// The entry itself may still be updated, with the same key or another.
	if err := book.Add(gateway.Contact{Name: "BOB", ID: sameKey, Source: gateway.SourceToxID}); err != nil {
		t.Errorf("updating bob with the same key: %v", err)
	}
	// A file that already lists a key twice still loads.
	if _, err := gateway.NewContactBook([]gateway.Contact{{Name: "a", ID: bob}, {Name: "b", ID: bob}}); err != nil {
		t.Errorf("a file with two entries of one key: %v", err)
	}
}

func TestContactBookRemoveKey(t *testing.T) {
	a, b := resolveTestID(1), resolveTestID(2)
	book := newTestBook(t,
		gateway.Contact{Name: "al", ID: a},
		gateway.Contact{Name: "bob", ID: b},
		gateway.Contact{Address: "Al.Ice@example.org", ID: a}, // an alias from a hand-edited file
	)
	got := book.RemoveKey(a.PublicKey())
	if len(got) != 2 || got[0].Name != "al" || got[1].Address != "Al.Ice@example.org" {
		t.Fatalf("RemoveKey: got %+v, want al and its alias", got)
	}
	for _, key := range []string{"al", "Al.Ice@example.org", "al.ice@example.org"} {
		if _, ok := book.Lookup(key); ok {
			t.Errorf("Lookup(%q) after RemoveKey: found", key)
		}
	}
	if _, ok := book.Lookup("bob"); !ok || book.Len() != 1 {
		t.Errorf("RemoveKey removed more than the key's entries: %+v", book.List())
	}
	if got := book.RemoveKey(a.PublicKey()); len(got) != 0 {
		t.Errorf("second RemoveKey: %+v", got)
	}
	// An address with capitals is gone from the index after Remove too,
	// so it can be added again.
	book.Add(gateway.Contact{Address: "Bo.B@example.org", ID: resolveTestID(3)})
	if !book.Remove("Bo.B@example.org") {
		t.Fatal("Remove by address: nothing removed")
	}
	if err := book.Add(gateway.Contact{Address: "Bo.B@example.org", ID: resolveTestID(4)}); err != nil {
		t.Errorf("adding the removed address again: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	id := resolveTestID(9)
	bad := []byte(id.String())
	bad[75] ^= 1
	// A key no Tox node can have (top bit of its last byte set), in a Tox
	// ID with a matching checksum and alone.
	pk := id.PublicKey()
	pk[31] |= 0x80
	topBit := gateway.NewToxID(pk, id.Nospam())
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{id.String(), true},
		{topBit.String(), false},
		{topBit.PublicKey().String(), false},
		{strings.ToLower(id.String()), true},
		{" " + id.PublicKey().String() + " ", true},
		{string(bad), false},
		{"bob", false},
		{strings.Repeat("zz", 32), false},
	} {
		pk, ok := gateway.ParseKey(tt.in)
		if ok != tt.ok || ok && pk != id.PublicKey() {
			t.Errorf("ParseKey(%q) = %v, %v; want ok=%v", tt.in, pk.Short(), ok, tt.ok)
		}
	}
}

// A new contact may not be named with 32 or more hex digits (NAME@tox
// would read the name as a Tox ID), but a book an older toxmail saved with
// one still loads.
func TestCheckNewContact(t *testing.T) {
	good := resolveTestID(1)
	for _, name := range []string{"0123456789abcdef0123456789ABCDEF", good.PublicKey().String()} {
		c := gateway.Contact{Name: name, ID: good}
		if err := gateway.CheckNewContact(c); !errors.Is(err, gateway.ErrContactInvalid) || !strings.Contains(err.Error(), "would read as a Tox ID") {
			t.Errorf("CheckNewContact(%q): %v", name, err)
		}
		if _, err := gateway.NewContactBook([]gateway.Contact{c}); err != nil {
			t.Errorf("a saved book with %q: %v", name, err)
		}
	}
	for _, name := range []string{"bob", "0123456789abcdef0123456789abcde", "deadbeefdeadbeefdeadbeefdeadbeefx"} {
		if err := gateway.CheckNewContact(gateway.Contact{Name: name, ID: good}); err != nil {
			t.Errorf("CheckNewContact(%q): %v", name, err)
		}
	}
}

// A new contact's name must read back as itself in NAME@tox. "bo(b)@tox"
// is bo@tox with a comment, so such a name sent mail for it to the
// contact named bo; "x.@tox" and the like are no address at all. A book
// saved with such a name still loads.
func TestCheckNewContactWritable(t *testing.T) {
	good := resolveTestID(1)
	for _, name := range []string{"bo(b)", "x.", ".x", "a..b", "a;b", `q\z`, "[k]", "a:b"} {
		c := gateway.Contact{Name: name, ID: good}
		if err := gateway.CheckNewContact(c); !errors.Is(err, gateway.ErrContactInvalid) || !strings.Contains(err.Error(), "cannot be written as") {
			t.Errorf("CheckNewContact(%q): %v", name, err)
		}
		if _, err := gateway.NewContactBook([]gateway.Contact{c}); err != nil {
			t.Errorf("a saved book with %q: %v", name, err)
		}
	}
	for _, name := range []string{"bob", "bo.b", "b-o_b+1", "Zoë", "名前", "o'brien"} {
		if err := gateway.CheckNewContact(gateway.Contact{Name: name, ID: good}); err != nil {
			t.Errorf("CheckNewContact(%q): %v", name, err)
		}
	}
}

// Names match in their composed form: "Zoë" with a combining diaeresis
// finds the contact saved with a precomposed ë, and cannot be added as a
// second contact that looks the same.
func TestContactNamesNFC(t *testing.T) {
	composed, decomposed := "Zo\u00eb", "Zoe\u0308"
	b, err := gateway.NewContactBook([]gateway.Contact{{Name: composed, ID: resolveTestID(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := b.Lookup(decomposed); !ok || c.ID != resolveTestID(1) {
		t.Errorf("Lookup of the decomposed name: %+v, %v", c, ok)
	}
	if err := b.Add(gateway.Contact{Name: decomposed, ID: resolveTestID(2)}); !errors.Is(err, gateway.ErrContactExists) {
		t.Errorf("adding the decomposed name as another contact: %v, want ErrContactExists", err)
	}
	if _, err := gateway.NewContactBook([]gateway.Contact{{Name: composed, ID: resolveTestID(1)}, {Name: decomposed, ID: resolveTestID(2)}}); !errors.Is(err, gateway.ErrContactExists) {
		t.Errorf("a book with both forms: %v, want ErrContactExists", err)
	}
}
