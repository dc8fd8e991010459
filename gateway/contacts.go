package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/toxmail/toxmail/envelope"
)

// Contacts is the address book as the gateway reads it: forward lookup for
// recipients, reverse lookup for "who is this sender" headers.
type Contacts interface {
	// Lookup finds a contact by mail address (when key has an "@") or by
	// contact name.
	Lookup(key string) (Contact, bool)
	// ByKey finds the contact whose Tox ID has this public key.
	ByKey(pk envelope.PublicKey) (Contact, bool)
}

// Contact is one address book entry. It has a Name, an Address or both.
type Contact struct {
	// Name is a short nickname, usable as a bare recipient ("RCPT TO:<alice>").
	// Names compare case-insensitively; they have no "@" and no spaces.
	Name string
	// Address is a mail address. Its domain compares case-insensitively, its
	// local part exactly; NewContactBook and Add store it normalised.
	Address string
	// ID is the contact's Tox ID.
	ID ToxID
	// Source is how the ID was learned: SourceToxID when the user typed or
	// pasted it, SourceDNS when it was saved from a tox1 lookup (and so is
	// only as trustworthy as that unauthenticated answer was).
	Source Source
	// Added is when the entry was made; the book does not read a clock.
	Added time.Time
}

// Errors from the address book, for errors.Is.
var (
	ErrContactInvalid = errors.New("invalid contact")
	ErrContactExists  = errors.New("already in the address book")
	// ErrContactsLost: the address book's file is missing or empty while
	// the node keeps friendships from it that a new file would end.
	ErrContactsLost = errors.New("the address book's file is lost")
)

// ContactBook is an in-memory address book, safe for concurrent use.
//
// It holds no file of its own: to keep it in a file, load the entries and
// pass them to NewContactBook, and write List back after changes. ToxID and
// Source implement encoding.TextMarshaler, so a Contact encodes as plain
// strings in TOML or JSON.
type ContactBook struct {
	mu     sync.RWMutex
	seq    uint64
	byName map[string]*bookEntry // lower-cased name
	byAddr map[string]*bookEntry // normalised address
	byKey  map[envelope.PublicKey][]*bookEntry
}

type bookEntry struct {
	c   Contact
	seq uint64 // insertion order
}

var (
	_ Contacts        = (*ContactBook)(nil)
	_ SenderDirectory = (*ContactBook)(nil)
)

// NewContactBook returns a book holding entries, or an error naming the
// first invalid entry, or one whose name or address an earlier entry has.
// Several entries may share a Tox ID here, and the book keeps them apart
// (RemoveKey removes them all). No path makes one: Add refuses it, and
// config.LoadContacts refuses an address-book file that has one, at the
// line of the second entry, because one person has one entry.
func NewContactBook(entries []Contact) (*ContactBook, error) {
	b := &ContactBook{
		byName: make(map[string]*bookEntry),
		byAddr: make(map[string]*bookEntry),
		byKey:  make(map[envelope.PublicKey][]*bookEntry),
	}
	for i, c := range entries {
		nc, err := normaliseContact(c)
		if err == nil {
			if _, dup := b.Lookup(nc.Name); dup && nc.Name != "" {
				err = fmt.Errorf("%w: %q is listed twice", ErrContactExists, nc.Name)
			} else if _, dup := b.Lookup(nc.Address); dup && nc.Address != "" {
				err = fmt.Errorf("%w: <%s> is listed twice", ErrContactExists, nc.Address)
			} else {
				err = b.add(nc, true)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: contact %d: %w", i+1, err)
		}
	}
	return b, nil
}

// Add adds a contact. If an entry with the same name and address exists,
// Add replaces it (a new ID, source or date). If the name, the address or
// the Tox ID's public key belongs to a different entry, Add fails with
// ErrContactExists, naming that entry: one person has one entry, so to
// rename a contact or change its address, Remove it and Add it again.
func (b *ContactBook) Add(c Contact) error { return b.add(c, false) }

// add is Add; sharedKeys lets the new entry share its public key with
// other entries (NewContactBook, for files that already do).
func (b *ContactBook) add(c Contact, sharedKeys bool) error {
	c, err := normaliseContact(c)
	if err != nil {
		return err
	}
	key := nameKey(c.Name)
	b.mu.Lock()
	defer b.mu.Unlock()
	var nameHit, addrHit *bookEntry
	if c.Name != "" {
		nameHit = b.byName[key]
	}
	if c.Address != "" {
		addrHit = b.byAddr[addrKey(c.Address)]
	}
	var old *bookEntry
	for _, hit := range []*bookEntry{nameHit, addrHit} {
		if hit == nil {
			continue
		}
		if !strings.EqualFold(hit.c.Name, c.Name) || addrKey(hit.c.Address) != addrKey(c.Address) {
			return fmt.Errorf("%w: %s is taken by %s; to change that contact, remove it and add it again",
				ErrContactExists, takenPart(hit.c, c), describeContact(hit.c))
		}
		old = hit // both hits, if both, are this same entry
	}
	if !sharedKeys {
		for _, e := range b.byKey[c.ID.PublicKey()] {
			if e != old {
				return fmt.Errorf("%w: that Tox ID is saved as %s; a Tox ID has one entry, so to rename it, "+
					"remove %s and add it again", ErrContactExists, describeContact(e.c), removeKey(e.c))
			}
		}
	}
	if old != nil {
		b.unlink(old)
	}
	b.seq++
	e := &bookEntry{c: c, seq: b.seq}
	if old != nil {
		e.seq = old.seq // keep the entry's place in List
	}
	if c.Name != "" {
		b.byName[key] = e
	}
	if c.Address != "" {
		b.byAddr[addrKey(c.Address)] = e
	}
	pk := c.ID.PublicKey()
	b.byKey[pk] = append(b.byKey[pk], e)
	return nil
}

// Remove removes the contact that key (a name or a mail address) finds and
// reports whether there was one.
func (b *ContactBook) Remove(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.find(key)
	if e != nil {
		b.unlink(e)
	}
	return e != nil
}

// RemoveKey removes every contact whose Tox ID has the public key pk and
// returns them, in the order added.
func (b *ContactBook) RemoveKey(pk envelope.PublicKey) []Contact {
	b.mu.Lock()
	defer b.mu.Unlock()
	es := slices.Clone(b.byKey[pk])
	slices.SortFunc(es, func(x, y *bookEntry) int { return cmp.Compare(x.seq, y.seq) })
	out := make([]Contact, len(es))
	for i, e := range es {
		out[i] = e.c
		b.unlink(e)
	}
	return out
}

// Lookup finds a contact by mail address (when key has an "@") or by name.
func (b *ContactBook) Lookup(key string) (Contact, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e := b.find(key); e != nil {
		return e.c, true
	}
	return Contact{}, false
}

// ByKey finds a contact by the public key of its Tox ID. When several
// entries share a key, it prefers one with a mail address, then the one
// added first.
func (b *ContactBook) ByKey(pk envelope.PublicKey) (Contact, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var best *bookEntry
	for _, e := range b.byKey[pk] {
		if best == nil || (best.c.Address == "") && e.c.Address != "" ||
			(best.c.Address == "") == (e.c.Address == "") && e.seq < best.seq {
			best = e
		}
	}
	if best == nil {
		return Contact{}, false
	}
	return best.c, true
}

// SenderAddress implements SenderDirectory: the mail address a sender's key
// goes by in the book, and where it came from. Contacts with a name but no
// mail address give no address.
func (b *ContactBook) SenderAddress(pk envelope.PublicKey) (address, source string, ok bool) {
	c, ok := b.ByKey(pk)
	if !ok || c.Address == "" {
		return "", "", false
	}
	source = "address book"
	if c.Source == SourceDNS {
		source += ", ID from tox1 DNS, unauthenticated"
	}
	return c.Address, source, true
}

// List returns every contact in the order added.
func (b *ContactBook) List() []Contact {
	b.mu.RLock()
	entries := make([]*bookEntry, 0, len(b.byName)+len(b.byAddr))
	for _, es := range b.byKey {
		entries = append(entries, es...)
	}
	b.mu.RUnlock()
	slices.SortFunc(entries, func(x, y *bookEntry) int { return cmp.Compare(x.seq, y.seq) })
	out := make([]Contact, len(entries))
	for i, e := range entries {
		out[i] = e.c
	}
	return out
}

// Len returns the number of contacts.
func (b *ContactBook) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, es := range b.byKey {
		n += len(es)
	}
	return n
}

// find looks key up; the caller holds the lock.
func (b *ContactBook) find(key string) *bookEntry {
	key = strings.TrimSpace(key)
	if strings.ContainsRune(key, '@') {
		norm, err := NormalizeAddress(key)
		if err != nil {
			return nil
		}
		return b.byAddr[addrKey(norm)]
	}
	return b.byName[nameKey(key)]
}

// nameKey is the name-index key: names match without case and in their
// composed form (NFC), so that "Zoë" typed with a combining diaeresis is
// the contact saved with a precomposed ë, not a second one that looks the
// same.
func nameKey(name string) string { return strings.ToLower(norm.NFC.String(name)) }

// unlink removes e from every index; the caller holds the write lock.
func (b *ContactBook) unlink(e *bookEntry) {
	if e.c.Name != "" && b.byName[nameKey(e.c.Name)] == e {
		delete(b.byName, nameKey(e.c.Name))
	}
	if e.c.Address != "" && b.byAddr[addrKey(e.c.Address)] == e {
		delete(b.byAddr, addrKey(e.c.Address))
	}
	pk := e.c.ID.PublicKey()
	es := slices.DeleteFunc(b.byKey[pk], func(x *bookEntry) bool { return x == e })
	if len(es) == 0 {
		delete(b.byKey, pk)
	} else {
		b.byKey[pk] = es
	}
}

func normaliseContact(c Contact) (Contact, error) {
	c.Name = strings.TrimSpace(c.Name)
	c.Address = strings.TrimSpace(c.Address)
	if c.Name == "" && c.Address == "" {
		return c, fmt.Errorf("%w: it needs a name or a mail address", ErrContactInvalid)
	}
	if c.Source == SourceFriend {
		// Only a Tox friend's key is known, not its Tox ID (the nospam).
		return c, fmt.Errorf("%w: a Tox friend's bare key is no address book entry; it needs the friend's 76-digit Tox ID", ErrContactInvalid)
	}
	if c.Name != "" {
		if err := checkContactName(c.Name); err != nil {
			return c, fmt.Errorf("%w: %w", ErrContactInvalid, err)
		}
	}
	if c.Address != "" {
		norm, err := NormalizeAddress(c.Address)
		if err != nil {
			return c, fmt.Errorf("%w: %w", ErrContactInvalid, err)
		}
		if _, domain := splitMailAddress(norm); domain == ToxDomain {
			return c, fmt.Errorf("%w: %s: addresses @%s are raw Tox IDs and need no contact; give it a name instead",
				ErrContactInvalid, norm, ToxDomain)
		}
		c.Address = norm
	}
	if !c.ID.Valid() {
		return c, fmt.Errorf("%w: %s: Tox ID checksum does not match", ErrContactInvalid, describeContact(c))
	}
	if c.ID.IsZero() {
		return c, fmt.Errorf("%w: %s: no Tox ID", ErrContactInvalid, describeContact(c))
	}
	return c, nil
}

// takenPart says which of c's name and address the entry hit also has.
func takenPart(hit, c Contact) string {
	if c.Name != "" && strings.EqualFold(hit.Name, c.Name) {
		return fmt.Sprintf("the name %q", c.Name)
	}
	return "the address <" + c.Address + ">"
}

// removeKey is what finds c for Remove: its name, else its address.
func removeKey(c Contact) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Address
}

func describeContact(c Contact) string {
	switch {
	case c.Name != "" && c.Address != "":
		return fmt.Sprintf("%q <%s>", c.Name, c.Address)
	case c.Name != "":
		return fmt.Sprintf("%q", c.Name)
	}
	return "<" + c.Address + ">"
}

// maxContactName bounds a contact name, like an address's local part.
const maxContactName = 64

// CheckNewContact refuses what a new contact may not be, though a book
// saved by an older toxmail may hold it (and still loads): a name of 32 or
// more hex digits, which NAME@tox reads as a Tox ID, so that no mail could
// reach the contact by name. The CLI and the dashboard check each contact
// they add.
func CheckNewContact(c Contact) error {
	name := strings.TrimSpace(c.Name)
	if looksLikeToxID(name) {
		return fmt.Errorf("%w: contact name %q is 32 or more hex digits, which %s@%s would read as a Tox ID; choose a name that is not all hex digits",
			ErrContactInvalid, name, name, ToxDomain)
	}
	if name != "" && checkContactName(name) == nil {
		// Mail reaches the contact as NAME@tox, so the name must read back
		// as itself there: "bo(b)@tox" is bo@tox with a comment, and
		// "x.@tox" or "a;b@tox" are no address at all.
		addr := name + "@" + ToxDomain
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
			return fmt.Errorf("%w: contact name %q cannot be written as %s: a mail address reads ( ) as a comment, "+
				"does not allow ; : [ ] \\ in a name, nor a dot first, last or twice in a row; choose letters, digits and - _ . + instead",
				ErrContactInvalid, name, addr)
		}
	}
	return nil
}

// checkContactName accepts a bare name: printable, no spaces, no "@", at
// most 64 bytes of UTF-8.
func checkContactName(name string) error {
	if name == "" {
		return errors.New("empty contact name")
	}
	if len(name) > maxContactName {
		return fmt.Errorf("contact name is %d bytes, at most %d", len(name), maxContactName)
	}
	if !utf8.ValidString(name) {
		return errors.New("contact name is not UTF-8")
	}
	for _, r := range name {
		if r == '@' || r == '<' || r == '>' || r == ',' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("contact name %q has %q, which names may not contain", name, r)
		}
	}
	return nil
}

// NormalizeAddress parses a mail address ("alice@Example.ORG" or
// "Alice <alice@example.org>") and returns its bare form with the domain
// lower-cased and any trailing dot removed; the local part stays as given.
// A malformed address is an error matching ErrMalformedAddress.
func NormalizeAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		// net/mail refuses the trailing dot of a fully qualified domain
		// ("bob@example.org."), which is still that domain.
		if t, ok := withoutTrailingDot(s); ok {
			a, err = mail.ParseAddress(t)
		}
	}
	if err != nil {
		why := addressShape(s)
		if why == "" {
			why = strings.TrimPrefix(err.Error(), "mail: ")
		}
		return "", &AddressError{Address: s, Reason: why}
	}
	local, domain := splitMailAddress(a.Address)
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if local == "" || domain == "" {
		return "", &AddressError{Address: s, Reason: "want local@domain"}
	}
	return local + "@" + domain, nil
}

// AddressError is a malformed mail address: Reason says what is wrong
// with it. It matches ErrMalformedAddress.
type AddressError struct {
	Address string // as given
	Reason  string // "nothing after the @", "more than one @", ...
}

// maxEchoedAddress is how much of a malformed address its error repeats.
const maxEchoedAddress = 80

func (e *AddressError) Error() string {
	return fmt.Sprintf("%s %q: %s", ErrMalformedAddress, clipInput(e.Address, maxEchoedAddress), e.Reason)
}

// Unwrap makes an AddressError match ErrMalformedAddress.
func (e *AddressError) Unwrap() error { return ErrMalformedAddress }

// addressShape says what is wrong with a bare address whose shape is off
// ("alice", "a@@b", "@example.org", "alice@"), or returns "" to leave the reason
// to net/mail, whose "missing '@' or angle-addr" would mislead for these.
func addressShape(s string) string {
	t := strings.TrimSpace(s)
	if !utf8.ValidString(t) {
		return "not valid UTF-8"
	}
	if strings.ContainsAny(t, "<>\"\\") {
		return ""
	}
	if strings.ContainsAny(t, " \t") {
		return "a space outside quotes"
	}
	switch at := strings.LastIndexByte(t, '@'); {
	case at < 0:
		return "no @"
	case strings.Count(t, "@") > 1:
		return "more than one @"
	case at == 0:
		return "nothing before the @"
	case at == len(t)-1:
		return "nothing after the @"
	case strings.Contains(t[at:], "..") || strings.HasPrefix(t[at+1:], "."):
		return "an empty label in the domain (two dots in a row, or a dot after the @)"
	}
	return ""
}

// ErrMalformedAddress is the error of an address that is no mail address
// at all (bad syntax), as opposed to one nobody answers for.
var ErrMalformedAddress = errors.New("malformed mail address")

// withoutTrailingDot returns s with the dot that ends its domain removed
// ("a@b.c." or "<a@b.c.>"), if it has one.
func withoutTrailingDot(s string) (string, bool) {
	t := strings.TrimSpace(s)
	angle := strings.HasSuffix(t, ">")
	t = strings.TrimSuffix(t, ">")
	at := strings.LastIndexByte(t, '@')
	if at < 0 || !strings.HasSuffix(t, ".") || strings.HasSuffix(t, "..") || at == len(t)-2 {
		return "", false
	}
	t = t[:len(t)-1]
	if angle {
		t += ">"
	}
	return t, true
}

// addrKey is the address-index key: local parts are matched without case
// too. RFC 5321 lets a server treat them as case-sensitive, but matching
// "Alice@" and "alice@" to different people would let a case slip send
// mail past the address book to an unauthenticated DNS answer.
// Like names, addresses match in their composed form (NFC).
func addrKey(normalized string) string { return strings.ToLower(norm.NFC.String(normalized)) }

// AddressKey returns the public key of the contact with this mail address
// or Tox address, for checking a mail's From against the sender.
func (b *ContactBook) AddressKey(address string) (envelope.PublicKey, bool) {
	c, ok := b.Lookup(address)
	if !ok || c.ID.IsZero() {
		return envelope.PublicKey{}, false
	}
	return c.ID.PublicKey(), true
}

// splitMailAddress splits at the last "@".
func splitMailAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}
