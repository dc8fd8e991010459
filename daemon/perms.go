package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/toxmail/toxmail/internal/shellquote"
)

// ErrInsecureDir means a node directory that others could change.
var ErrInsecureDir = errors.New("writable by others")

// CheckDataDir refuses a data directory, or its inbox/ and mesh/ when they
// exist, that someone other than the user may write to or that another
// user owns: whoever can rename inbox/ can have the node write opened mail
// into a directory of theirs, and whoever can replace contacts.toml
// chooses the keys mail is sealed to. (The profile and the config file
// have their own checks.) The directories above it count too, as for
// OpenSSH's StrictModes: whoever can rename one of them can put a data
// directory of their own in its place. Each must belong to the user or to
// root, and others may write to it only if its sticky bit is set (as on
// /tmp, where they cannot rename what is not theirs).
func CheckDataDir(dir string) error {
	if err := checkAncestors(dir); err != nil {
		return err
	}
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
			return fmt.Errorf("daemon: %s has mode %04o: %w, and it holds your mail and keys; run chmod 700 %s", p, perm, ErrInsecureDir, shellquote.Quote(p))
		}
	}
	return nil
}

// checkAncestors checks the directories above dir, up to the root, as
// CheckDataDir describes. Symbolic links are followed: the path the node
// writes through is the one that matters.
func checkAncestors(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("daemon: data directory: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("daemon: data directory: %w", err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Getuid() {
			return fmt.Errorf("daemon: %s, above the data directory %s, belongs to user %d: %w (they could move the data directory aside); use a directory of your own", p, dir, st.Uid, ErrInsecureDir)
		}
		if perm := fi.Mode().Perm(); perm&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return fmt.Errorf("daemon: %s, above the data directory %s, has mode %04o: %w, who could move the data directory aside; run chmod go-w %s, or use another directory", p, dir, perm, ErrInsecureDir, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
