package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/toxmail/toxmail/internal/flock"
)

// ErrLocked means another toxmail process is running on the data
// directory, or on the Tox profile.
var ErrLocked = errors.New("data directory in use")

// dirLock is an exclusive advisory lock (flock) on DIR/toxmail.lock, or on
// PROFILE.lock beside a Tox profile. The kernel releases it when the
// process dies, so a crash never leaves a stale lock behind.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	return lockFile(filepath.Join(dir, "toxmail.lock"),
		"is running on "+dir+"; stop it first, or give this one its own data_dir")
}

// lockProfile locks the Tox profile at path, wherever it is: two nodes
// with their own data directories but one profile would be one Tox
// identity twice, fighting over its friends and splitting its mail. The
// lock is a file beside the profile, which is replaced on every save.
func lockProfile(path string) (*dirLock, error) {
	return lockFile(path+".lock",
		"uses the Tox profile "+path+"; two nodes on one profile are one Tox identity twice: stop it, or give this one its own profile")
}

// lockFile takes the lock at path; busy ends the error when another
// process holds it.
func lockFile(path, busy string) (*dirLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon: opening %s: %w", path, err)
	}
	if err := flockRetry(f); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w: another toxmail (pid %s) %s", ErrLocked, pid, busy)
		}
		return nil, fmt.Errorf("daemon: locking %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	f.Sync()
	return &dirLock{f: f}, nil
}

// lockPatience is how long lockFile waits for a lock held only for a
// moment: Running (toxmail status, contacts, passwd) probes it.
const lockPatience = 500 * time.Millisecond

// flockRetry takes an exclusive lock on f, trying again for lockPatience
// while someone else holds it.
func flockRetry(f *os.File) error { return flock.Exclusive(f, lockPatience) }

func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	flock.Unlock(l.f)
	l.f.Close()
	l.f = nil
}

// Running reports whether a toxmail node holds the lock of the data
// directory dir now, and the pid it wrote there. It probes with a shared
// lock for a moment when nobody holds it; a node starting at that instant
// waits for it (flockRetry) rather than being refused.
func Running(dir string) (pid string, running bool) {
	path := filepath.Join(dir, "toxmail.lock")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", false // no lock file: never ran here
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return "", false
	}
	b, _ := os.ReadFile(path)
	pid = strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(pid); err != nil {
		pid = "unknown"
	}
	return pid, true
}
