package daemon

// Keeping the Tox friend list in step with the address book.
//
// Every contact is befriended. A contact that leaves the address book is
// unfriended, whether the dashboard removed it or `toxmail contacts remove`
// edited contacts.toml (while the node ran, or while it was stopped): the
// keys of the book as last applied are kept in DATA_DIR/contacts.applied,
// and a key that was there and is no longer in the book loses its Tox
// friendship and any pending friend request. A friend that was never in
// the address book (an approved request) is left alone, unless the user
// removes it by its key (RemoveContact).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/internal/plural"
	"github.com/toxmail/toxmail/tox"
)

// appliedFile holds the public keys of the address book as the node last
// applied it, one per line.
const appliedFile = "contacts.applied"

const appliedHeader = `# The public keys of contacts.toml as this node last applied it, kept by
# toxmail: a key that leaves contacts.toml loses its Tox friendship. Do not
# edit; remove contacts with "toxmail contacts remove" or the dashboard.
`

// loadApplied reads the applied keys; ok is false when there is no such
// file yet (or it is unreadable), and then nothing is unfriended until
// the book has been applied once.
func loadApplied(path string) (keys map[tox.PublicKey]bool, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("daemon: %w", err)
	}
	keys = make(map[tox.PublicKey]bool)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pk, err := envelope.ParsePublicKey(line)
		if err != nil {
			return nil, false, fmt.Errorf("daemon: %s:%d: not a public key; the file is rewritten from contacts.toml", path, n)
		}
		keys[tox.PublicKey(pk)] = true
	}
	return keys, true, nil
}

// saveApplied writes the applied keys atomically, mode 0600.
func saveApplied(path string, keys map[tox.PublicKey]bool) error {
	lines := make([]string, 0, len(keys))
	for k := range keys {
		lines = append(lines, k.String())
	}
	slices.Sort(lines)
	var b bytes.Buffer
	b.WriteString(appliedHeader)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("daemon: writing %s: %w", path, err)
	}
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("daemon: writing %s: %w", path, err)
	}
	return nil
}

// bookKeys is the set of public keys in the address book.
func (d *Daemon) bookKeys() map[tox.PublicKey]bool {
	keys := make(map[tox.PublicKey]bool)
	for _, c := range d.book.current().List() {
		keys[tox.PublicKey(c.ID.PublicKey())] = true
	}
	return keys
}

// syncFriends applies the address book to the Tox friend list: contacts
// that are not friends get a friend request (to the full Tox ID, which the
// other side's "known" policy accepts when we are in its book too), and
// keys that left the book since it was last applied lose their friendship.
// While the contacts file is missing nothing is unfriended.
func (d *Daemon) syncFriends() {
	d.friendsMu.Lock()
	defer d.friendsMu.Unlock()
	keys := d.bookKeys()
	if d.book.fileExists() && d.appliedOK {
		for k := range d.applied {
			if keys[k] {
				continue
			}
			if _, err := d.dropFriend(k); err != nil {
				d.log.Warn("removed contact still a Tox friend", "key", k.Short(), "err", err)
				keys[k] = true // try again at the next change
			} else {
				d.log.Info("contact removed from the address book; Tox friendship ended", "key", k.Short())
			}
		}
	} else if !d.book.fileExists() {
		for k := range d.applied {
			keys[k] = true // no file: nothing was removed
		}
	}
	d.befriend()
	d.setApplied(keys)
}

// setApplied records keys as the applied book; friendsMu is held.
func (d *Daemon) setApplied(keys map[tox.PublicKey]bool) {
	if d.appliedOK && mapsEqual(keys, d.applied) {
		return
	}
	if err := saveApplied(filepath.Join(d.cfg.DataDir, appliedFile), keys); err != nil {
		d.log.Error("the applied address book was not saved; contacts removed while the node is stopped will stay friends", "err", err)
		return
	}
	d.applied, d.appliedOK = keys, true
}

func mapsEqual(a, b map[tox.PublicKey]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// befriend sends a friend request to every contact that is not a friend
// yet; friendsMu is held.
func (d *Daemon) befriend() {
	have := make(map[tox.PublicKey]bool)
	for _, p := range d.tr.Peers() {
		have[p.Key] = true
	}
	for _, c := range d.book.current().List() {
		pk := tox.PublicKey(c.ID.PublicKey())
		if have[pk] || pk == d.x.PublicKey() {
			continue
		}
		var addr tox.Address
		copy(addr[:], c.ID[:])
		if err := d.tr.AddFriend(addr, "toxmail: "+d.cfg.Name); err != nil {
			d.log.Warn("friend request not sent", "contact", c.Name, "key", pk.Short(), "err", err)
			continue
		}
		have[pk] = true
		d.log.Info("friend request sent", "contact", c.Name, "key", pk.Short())
	}
}

// dropFriend ends the Tox friendship with pk (a friend request we sent
// and that was never accepted included) and drops a pending request from
// it, then saves the profile. dropped reports whether there was anything
// to drop.
func (d *Daemon) dropFriend(pk tox.PublicKey) (dropped bool, err error) {
	err = d.tr.DeleteFriend(pk)
	switch {
	case err == nil:
		dropped = true
	case errors.Is(err, tox.ErrFriendNotFound):
		err = nil
	default:
		return false, err
	}
	if d.tr.Deny(pk) == nil {
		dropped = true
	}
	if dropped {
		if err := d.saveProfile(); err != nil {
			return true, fmt.Errorf("saving the Tox profile: %w", err)
		}
	}
	return dropped, nil
}

// KeptFriends returns how many contacts the node whose data directory is
// dataDir last applied (DATA_DIR/contacts.applied): the Tox friendships it
// keeps while contacts.toml is missing or empty, and which a new
// contacts.toml without them would end. 0 if the node never applied a book.
func KeptFriends(dataDir string) (int, error) {
	keys, _, err := loadApplied(AppliedPath(dataDir))
	return len(keys), err
}

// StartOver says how to start an empty address book on purpose while the
// node keeps friendships from a lost one: with the node stopped, the
// applied keys go (the old friends stay Tox friends, outside the book;
// `toxmail contacts remove KEY` ends them).
func StartOver(dataDir string) string {
	return "stop the node and delete " + AppliedPath(dataDir) + " (its friends stay Tox friends outside the address book)"
}

// AppliedPath is the file in which the node whose data directory is
// dataDir keeps the public keys of the address book as it last applied it.
func AppliedPath(dataDir string) string { return filepath.Join(dataDir, appliedFile) }

// lostContacts refuses, with gateway.ErrContactsLost, to write an address
// book while its file is missing or empty and the node keeps friendships
// from it that the book in memory cannot name (the node started without
// the file): the new file would end them. While the node has kept running
// since the file went, the book in memory still has every contact, and
// writing it restores them. friendsMu is held.
func (d *Daemon) lostContacts() error {
	if d.book.fileExists() {
		return nil
	}
	keys, lost := d.bookKeys(), 0
	for k := range d.applied {
		if !keys[k] {
			lost++
		}
	}
	if lost == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is missing or empty, and the node keeps the Tox friendships of %s it last had "+
		"but cannot name; writing the file now would end them: restore it from a backup, or, to start an empty "+
		"address book on purpose, %s", gateway.ErrContactsLost, d.book.path, plural.Count(lost, "contact"), StartOver(d.cfg.DataDir))
}

// addContact adds a contact to the book and befriends it.
func (d *Daemon) addContact(c gateway.Contact) error {
	if c.Added.IsZero() {
		c.Added = time.Now().UTC().Truncate(time.Second)
	}
	if tox.PublicKey(c.ID.PublicKey()) == d.x.PublicKey() {
		return fmt.Errorf("%w: %s is this node's own Tox ID; mail to yourself needs no contact", gateway.ErrContactInvalid, c.ID)
	}
	if err := gateway.CheckNewContact(c); err != nil {
		return err
	}
	d.friendsMu.Lock()
	err := d.lostContacts()
	d.friendsMu.Unlock()
	if err != nil {
		return err
	}
	if err := d.book.change(func(b *gateway.ContactBook) error { return b.Add(c) }); err != nil {
		return err
	}
	d.syncFriends()
	return nil
}

// errNothingRemoved tells removeContact's book change that it found no
// entry, so the file is not written.
var errNothingRemoved = errors.New("no entry")

// removeContact removes what nameOrKey names and ends the friendship:
//
//   - a name or mail address: that address-book entry; its key stops
//     being a friend unless another entry still has it;
//   - a public key or Tox ID: every entry with that key, and the Tox
//     friend, also one that was never in the address book.
//
// A pending friend request from the key is dropped too. It is
// gateway.ErrNoSuchContact when there is neither an entry, nor a friend,
// nor a request.
func (d *Daemon) removeContact(nameOrKey string) error {
	d.friendsMu.Lock()
	defer d.friendsMu.Unlock()
	if err := d.lostContacts(); err != nil {
		return err
	}
	pk, isKey := gateway.ParseKey(nameOrKey)
	var removed []gateway.Contact
	err := d.book.change(func(b *gateway.ContactBook) error {
		// A key names what it names: an old book may hold a contact
		// named with another's key, which must not be taken for it.
		if isKey {
			removed = b.RemoveKey(pk)
		} else if c, ok := b.Lookup(nameOrKey); ok && b.Remove(nameOrKey) {
			removed, pk, isKey = []gateway.Contact{c}, c.ID.PublicKey(), true
		}
		if len(removed) == 0 {
			return errNothingRemoved
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNothingRemoved) {
		return err
	}
	if !isKey {
		return fmt.Errorf("%w: no contact named %s; remove a friend that is not in the address book by its public key",
			gateway.ErrNoSuchContact, quoteShort(nameOrKey))
	}
	keys := d.bookKeys()
	if keys[tox.PublicKey(pk)] {
		return nil // another entry still has the key: it stays a friend
	}
	dropped, err := d.dropFriend(tox.PublicKey(pk))
	if err != nil {
		return err
	}
	if len(removed) == 0 && !dropped {
		return fmt.Errorf("%w: %s is neither in the address book, nor a Tox friend, nor a friend request",
			gateway.ErrNoSuchContact, pk.Short())
	}
	d.log.Info("contact removed; Tox friendship ended", "key", pk.Short(), "entries", len(removed), "was_friend", dropped)
	d.setApplied(d.appliedWithout(tox.PublicKey(pk), keys))
	return nil
}

// appliedWithout is the applied book once pk's friendship has ended: the
// keys applied before, less pk. A change `toxmail contacts` made to the
// file just before (which the book's change started from) is left for
// syncFriends to apply, not recorded as applied. keys (the book now) is
// what it is when no book was applied yet. friendsMu is held.
func (d *Daemon) appliedWithout(pk tox.PublicKey, keys map[tox.PublicKey]bool) map[tox.PublicKey]bool {
	if !d.appliedOK {
		return keys
	}
	out := maps.Clone(d.applied)
	delete(out, pk)
	return out
}

// quoteShort quotes what the user typed, shortened.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// isFriend reports whether pk is a Tox friend of the node now (a friend
// request it accepted, or a contact): mail to its bare key is taken. It
// reads the transport's friend list, so it neither fails nor waits for
// the Tox loop.
func (d *Daemon) isFriend(pk envelope.PublicKey) bool { return d.tr.IsFriend(tox.PublicKey(pk)) }
