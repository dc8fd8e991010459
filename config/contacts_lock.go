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
	lp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("config: locking the address book: %w", err)
	}
	deadline := time.Now().Add(contactsLockPatience)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("config: locking the address book (%s): %w", lp, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("config: the address book %s has been locked for %v by another toxmail process (%s); try again", path, contactsLockPatience, lp)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
