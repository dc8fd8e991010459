// Package flock takes exclusive advisory locks (flock(2)) on open files,
// waiting a while for another holder: the data directory's and the
// profile's locks (daemon) and the address book's (config). The kernel
// drops a lock when its holder dies, so a crash leaves none behind.
package flock

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// retryEvery is how often a busy lock is tried again.
const retryEvery = 20 * time.Millisecond

// Exclusive takes an exclusive lock on f, trying again for patience while
// another open file holds it. It returns syscall.EWOULDBLOCK (errors.Is)
// if the lock is still held after patience (at once for 0), or the error
// flock gave.
func Exclusive(f *os.File, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(retryEvery)
	}
}

// Unlock releases a lock Exclusive took.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
