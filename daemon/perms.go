package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrInsecureDir means a node directory that others could change.
var ErrInsecureDir = errors.New("writable by others")

// CheckDataDir refuses a data directory, or its inbox/ and mesh/ when they
// exist, that someone other than the user may write to or that another
// user owns: whoever can rename inbox/ can have the node write opened mail
// into a directory of theirs, and whoever can replace contacts.toml
// chooses the keys mail is sealed to. (The profile and the config file
// have their own checks.)
func CheckDataDir(dir string) error {
	for _, p := range []string{dir, filepath.Join(dir, "inbox"), filepath.Join(dir, "mesh")} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) && p != dir {
			continue
		}
		if err != nil {
			return fmt.Errorf("daemon: data directory: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("daemon: %s is not a directory", p)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
			return fmt.Errorf("daemon: %s belongs to user %d, not to you (%d): %w; use a directory of your own", p, st.Uid, os.Getuid(), ErrInsecureDir)
		}
		if perm := fi.Mode().Perm(); perm&0o022 != 0 {
			return fmt.Errorf("daemon: %s has mode %04o: %w, and it holds your mail and keys; run chmod 700 %s", p, perm, ErrInsecureDir, p)
		}
	}
	return nil
}
