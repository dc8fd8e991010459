package flock

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Two open files of one path: the second waits for the first, and gets the
// lock once the first unlocks.
func TestExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if err := Exclusive(a, 0); err != nil {
		t.Fatal(err)
	}
	if err := Exclusive(b, 0); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("a second holder at once: %v, want EWOULDBLOCK", err)
	}
	got := make(chan error, 1)
	go func() { got <- Exclusive(b, 10*time.Second) }()
	time.Sleep(100 * time.Millisecond)
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the waiting holder: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting holder never got the lock")
	}
}
