package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/tox"
)

// contactBook is the address book of a running node: a gateway.ContactBook
// loaded from the contacts file, replaced whole when the file changes (the
// CLI edits it while the node runs) and written back when the dashboard
// changes it.
type contactBook struct {
	path string

	mu   sync.RWMutex
	book *gateway.ContactBook
	raw  []byte // the file's bytes as last loaded or written
}

var (
	_ gateway.Contacts        = (*contactBook)(nil)
	_ gateway.SenderDirectory = (*contactBook)(nil)
)

func loadContactBook(path string) (*contactBook, error) {
	b := &contactBook{path: path}
	if _, err := b.reload(); err != nil {
		return nil, err
	}
	return b, nil
}

// reload reads the file again if its bytes changed.
func (b *contactBook) reload() (bool, error) {
	raw, err := os.ReadFile(b.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("daemon: contacts: %w", err)
	}
	b.mu.RLock()
	same := b.book != nil && bytes.Equal(raw, b.raw)
	b.mu.RUnlock()
	if same {
		return false, nil
	}
	entries, err := config.LoadContacts(b.path)
	if err != nil {
		return false, err
	}
	book, err := gateway.NewContactBook(entries)
	if err != nil {
		return false, fmt.Errorf("daemon: %s: %w", b.path, err)
	}
	b.mu.Lock()
	b.book, b.raw = book, raw
	b.mu.Unlock()
	return true, nil
}

func (b *contactBook) current() *gateway.ContactBook {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.book
}

// change applies f to a copy of the book and writes the file.
func (b *contactBook) change(f func(*gateway.ContactBook) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	book, err := gateway.NewContactBook(b.book.List())
	if err != nil {
		return err
	}
	if err := f(book); err != nil {
		return err
	}
	if err := config.SaveContacts(b.path, book.List()); err != nil {
		return err
	}
	raw, err := os.ReadFile(b.path)
	if err != nil {
		return err
	}
	b.book, b.raw = book, raw
	return nil
}

// Lookup implements gateway.Contacts.
func (b *contactBook) Lookup(key string) (gateway.Contact, bool) { return b.current().Lookup(key) }

// ByKey implements gateway.Contacts.
func (b *contactBook) ByKey(pk envelope.PublicKey) (gateway.Contact, bool) {
	return b.current().ByKey(pk)
}

// SenderAddress implements gateway.SenderDirectory.
func (b *contactBook) SenderAddress(pk envelope.PublicKey) (string, string, bool) {
	return b.current().SenderAddress(pk)
}

// AddressKey implements gateway.SenderDirectory.
func (b *contactBook) AddressKey(address string) (envelope.PublicKey, bool) {
	return b.current().AddressKey(address)
}

// knows reports whether a key belongs to a contact (the "known" friend
// request policy).
func (b *contactBook) knows(pk tox.PublicKey) bool {
	_, ok := b.current().ByKey(envelope.PublicKey(pk))
	return ok
}

// reconcileFriends makes every contact a Tox friend: a friend request to
// its full Tox ID (which the other side's "known" policy accepts when we
// are in its address book too). Contacts already befriended are left alone.
func (d *Daemon) reconcileFriends() {
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
		d.log.Info("friend request sent", "contact", c.Name, "key", pk.Short())
	}
}

// addContact adds a contact to the book and befriends it.
func (d *Daemon) addContact(c gateway.Contact) error {
	if c.Added.IsZero() {
		c.Added = time.Now().UTC().Truncate(time.Second)
	}
	if err := d.book.change(func(b *gateway.ContactBook) error { return b.Add(c) }); err != nil {
		return err
	}
	d.reconcileFriends()
	return nil
}
