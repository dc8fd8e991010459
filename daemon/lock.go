package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked means another toxmail process is running on the data directory.
var ErrLocked = errors.New("data directory in use")

// dirLock is an exclusive advisory lock (flock) on DIR/toxmail.lock. The
// kernel releases it when the process dies, so a crash never leaves a stale
// lock behind.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, "toxmail.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon: opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w: another toxmail (pid %s) is running on %s; stop it first, or give this one its own data_dir", ErrLocked, pid, dir)
		}
		return nil, fmt.Errorf("daemon: locking %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	f.Sync()
	return &dirLock{f: f}, nil
}

func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// Running reports whether a toxmail node holds the lock of the data
// directory dir now, and the pid it wrote there. It takes the lock for a
// moment when nobody holds it, so a node starting at that very instant
// may be refused once.
func Running(dir string) (pid string, running bool) {
	path := filepath.Join(dir, "toxmail.lock")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", false // no lock file: never ran here
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
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
