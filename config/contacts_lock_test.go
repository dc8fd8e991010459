package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// One holder at a time: a second LockContacts waits for the first to
// unlock, then gets the lock. The lock file is 0600 beside the book.
func TestLockContacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), ContactsFile)
	unlock, err := LockContacts(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := LockContacts(path)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a second LockContacts returned (%v) while the first held the lock", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the second LockContacts, once the first unlocked: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second LockContacts did not get the lock within 5 s of the unlock")
	}
	fi, err := os.Stat(filepath.Join(filepath.Dir(path), "."+ContactsFile+".lock"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

// TryLockContacts does not wait: busy while another holds the lock, then
// free once it is released.
func TestTryLockContacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), ContactsFile)
	unlock, err := LockContacts(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if u, ok, err := TryLockContacts(path); ok || err != nil {
		if ok {
			u()
		}
		t.Fatalf("TryLockContacts while locked: ok %v, %v; want busy", ok, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("TryLockContacts waited %v", time.Since(start))
	}
	unlock()
	u, ok, err := TryLockContacts(path)
	if !ok || err != nil {
		t.Fatalf("TryLockContacts once free: ok %v, %v", ok, err)
	}
	u()
}
