package config

// The address book's lock: the node (for dashboard and API changes) and
// `toxmail contacts` both read, change and rewrite contacts.toml; each
// does so holding this lock, from the file as it is then, so that neither
// writes over a change the other has just made.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/toxmail/toxmail/internal/flock"
)

// contactsLockPatience is how long LockContacts waits for another holder.
// A holder keeps the lock for one read, change and atomic write.
const contactsLockPatience = 10 * time.Second

// LockContacts takes an exclusive advisory lock (flock) for the address
// book at path, on a file beside it (DIR/.contacts.toml.lock, mode 0600;
// the book itself is replaced on every write, so it cannot carry the
// lock). It waits up to 10 s for another holder, the node or another
// `toxmail contacts`. The kernel drops the lock if the process dies.
// Call unlock when the change is written.
func LockContacts(path string) (unlock func(), err error) {
	unlock, ok, err := lockContacts(path, contactsLockPatience)
	if err == nil && !ok {
		err = fmt.Errorf("config: the address book %s has been locked for %v by another toxmail process; try again", path, contactsLockPatience)
	}
	return unlock, err
}

// TryLockContacts is LockContacts without the wait: ok is false, with no
// error, while another process holds the lock.
func TryLockContacts(path string) (unlock func(), ok bool, err error) {
	return lockContacts(path, 0)
}

// lockContacts takes the lock, waiting up to patience for another holder.
func lockContacts(path string, patience time.Duration) (unlock func(), ok bool, err error) {
	lp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("config: locking the address book: %w", err)
	}
	if err := flock.Exclusive(f, patience); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("config: locking the address book (%s): %w", lp, err)
	}
	return func() {
		flock.Unlock(f)
		f.Close()
	}, true, nil
}
