package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/internal/plural"
	"github.com/toxmail/toxmail/tox"
)

// contactBook is the address book of a running node: a gateway.ContactBook
// loaded from the contacts file, replaced whole when the file changes (the
// CLI edits it while the node runs) and written back when the dashboard
// changes it.
//
// A contacts file that disappears is not taken to mean "remove everyone":
// the book in memory stays (and with it every friendship) until the file
// is back or the dashboard writes it again.
type contactBook struct {
	path string

	mu      sync.RWMutex
	book    *gateway.ContactBook
	raw     []byte // the file's bytes as last loaded or written
	missing bool   // the file did not exist at the last reload
	// unsynced: a change started from the file as another process
	// (`toxmail contacts`) had just written it, before a reload saw it;
	// the next reload reports the book changed, so that its friendships
	// are applied.
	unsynced bool
}

var (
	_ gateway.Contacts        = (*contactBook)(nil)
	_ gateway.SenderDirectory = (*contactBook)(nil)
)

// errContactsEmpty is a contacts file with nothing in it, found at start:
// the node starts, keeping every friendship, and says so.
var errContactsEmpty = errors.New("taken as missing")

// loadContactBook loads the address book; with errContactsEmpty the book is
// usable (empty, and treated as missing).
func loadContactBook(path string) (*contactBook, error) {
	b := &contactBook{path: path}
	unlock, err := config.LockContacts(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := b.reloadLocked(); err != nil {
		if errors.Is(err, errContactsEmpty) {
			return b, err
		}
		return nil, err
	}
	return b, nil
}

// reload reads the file again if its bytes changed. A file that has
// gone leaves a non-empty book as it is; the first reload that finds it
// gone says so (an error), the later ones stay quiet. It holds the address
// book's lock, so that what it reads and keeps is never older than what a
// change (the node's, or `toxmail contacts`) wrote meanwhile; while
// another process holds the lock it reads nothing, and the next reload
// reads what that one wrote.
func (b *contactBook) reload() (bool, error) {
	unlock, ok, err := config.TryLockContacts(b.path)
	if err != nil {
		return false, fmt.Errorf("daemon: contacts: %w", err)
	}
	if !ok {
		return false, nil
	}
	defer unlock()
	return b.reloadLocked()
}

// reloadLocked is reload, the lock held.
func (b *contactBook) reloadLocked() (bool, error) {
	raw, err := config.ReadContactsFile(b.path)
	empty := err == nil && config.ContactsCutShort(raw)
	if errors.Is(err, os.ErrNotExist) || empty {
		what := "is gone"
		if empty {
			what = "is empty (the file toxmail writes never is)"
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		wasMissing := b.missing
		b.missing = true
		switch {
		case b.book == nil:
			b.book, _ = gateway.NewContactBook(nil)
			b.raw = nil
			if empty {
				return true, fmt.Errorf("daemon: %s %s: %w; the node ends no Tox friendship over it "+
					"(restore it from a backup; `toxmail contacts list` says whether the node keeps friendships from it)", b.path, what, errContactsEmpty)
			}
			return true, nil
		case b.book.Len() > 0 && !wasMissing:
			return false, fmt.Errorf("daemon: %s %s; the node keeps its %s and their Tox friendships "+
				"(restore the file from a backup, or change a contact on the dashboard, which writes it again with them)", b.path, what, plural.Count(b.book.Len(), "contact"))
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("daemon: contacts: %w", err)
	}
	b.mu.Lock()
	same := b.book != nil && !b.missing && bytes.Equal(raw, b.raw)
	unsynced := b.unsynced
	b.unsynced = false
	b.mu.Unlock()
	if same {
		return unsynced, nil
	}
	entries, err := config.ParseContacts(raw, b.path)
	if err != nil {
		return false, err
	}
	book, err := gateway.NewContactBook(entries)
	if err != nil {
		return false, fmt.Errorf("daemon: %s: %w", b.path, err)
	}
	b.mu.Lock()
	b.book, b.raw, b.missing, b.unsynced = book, raw, false, false
	b.mu.Unlock()
	return true, nil
}

// fileExists reports whether the contacts file existed at the last reload
// or write: only then does a key missing from the book mean that the user
// removed it.
func (b *contactBook) fileExists() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return !b.missing
}

func (b *contactBook) current() *gateway.ContactBook {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.book
}

// change applies f to the book and writes the file, holding the address
// book's lock (config.LockContacts). It starts from the file as it is now:
// a change `toxmail contacts` made since the last reload is kept, not
// written over (and reload then reports the book changed).
func (b *contactBook) change(f func(*gateway.ContactBook) error) error {
	unlock, err := config.LockContacts(b.path)
	if err != nil {
		return err
	}
	defer unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	base := b.book.List()
	raw, err := config.ReadContactsFile(b.path)
	switch {
	case errors.Is(err, os.ErrNotExist) || err == nil && config.ContactsCutShort(raw):
		// Gone or emptied: the book in memory is what is known (see
		// contactBook), and writing it restores the file.
	case err != nil:
		return fmt.Errorf("daemon: contacts: %w", err)
	case b.missing || !bytes.Equal(raw, b.raw):
		entries, err := config.ParseContacts(raw, b.path)
		if err != nil {
			return err
		}
		base = entries
		b.unsynced = true
	}
	book, err := gateway.NewContactBook(base)
	if err != nil {
		return fmt.Errorf("daemon: %s: %w", b.path, err)
	}
	if err := f(book); err != nil {
		return err
	}
	if err := config.SaveContacts(b.path, book.List()); err != nil {
		return err
	}
	raw, err = os.ReadFile(b.path)
	if err != nil {
		return err
	}
	b.book, b.raw, b.missing = book, raw, false
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
