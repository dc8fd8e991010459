package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// mkdirAll creates dir and its missing parents with perm, as os.MkdirAll
// does, and returns top, the outermost directory it made ("" if dir
// existed), so that a command that fails afterwards can take back what it
// made with removeEmptyUpTo.
func mkdirAll(dir string, perm fs.FileMode) (top string, err error) {
	for d := filepath.Clean(dir); ; {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		top = d
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		removeEmptyUpTo(dir, top) // MkdirAll may have made some
		return "", err
	}
	return top, nil
}

// removeEmptyUpTo removes dir and its parents up to top, which mkdirAll
// made, as long as they are empty; nothing when top is "".
func removeEmptyUpTo(dir, top string) {
	if top == "" {
		return
	}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if os.Remove(d) != nil || d == top {
			return
		}
	}
}
