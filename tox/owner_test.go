package tox

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// waitDone fails t unless ch closes within d (waitFor on the channel).
func waitDone(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	waitFor(t, d, what, func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	})
}

// goid tells goroutines apart and is stable within one.
func TestGoid(t *testing.T) {
	me := goid()
	if me == 0 || goid() != me {
		t.Fatalf("goid: %d then %d", me, goid())
	}
	other := make(chan uint64)
	go func() { other <- goid() }()
	if o := <-other; o == me || o == 0 {
		t.Fatalf("another goroutine's goid: %d (ours %d)", o, me)
	}
}

// Do called from the owner goroutine (here, from inside a function given
// to Do, as a callback or hook would) returns an error instead of waiting
// for itself, and the instance goes on working. Before, it froze the
// instance until another goroutine called Close.
func TestDoFromOwnerRefused(t *testing.T) {
	x, err := New(pairOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var inner error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = x.Do(func(*Core) error {
			_, inner = x.UDPPort() // a wrapper around Do
			return nil
		})
	}()
	waitDone(t, done, 10*time.Second, "Do calling Do")
	if err != nil || !errors.Is(inner, ErrInvalid) {
		t.Fatalf("outer Do: %v; inner Do: %v, want ErrInvalid", err, inner)
	}
	if _, err := x.UDPPort(); err != nil {
		t.Fatalf("the instance after a refused inner Do: %v", err)
	}
}

// Close called from the owner goroutine returns at once and the instance
// closes when the function returns. Before, Close waited for itself and
// every later Close hung too.
func TestCloseFromOwner(t *testing.T) {
	x, err := New(pairOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var hooked bool
	x.SetCloseHook(func(*Core) {
		hooked = true
		_ = x.Close() // from the close hook as well
	})
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		if err := x.Do(func(*Core) error { return x.Close() }); err != nil {
			t.Error(err)
		}
	}()
	waitDone(t, returned, 10*time.Second, "Do calling Close")
	waitDone(t, x.Done(), 10*time.Second, "the instance closing after Close from its owner")
	closed := make(chan struct{})
	go func() { defer close(closed); _ = x.Close() }()
	waitDone(t, closed, 10*time.Second, "a later Close")
	if !hooked {
		t.Fatal("the close hook did not run")
	}
	if err := x.Do(func(*Core) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after close: %v, want ErrClosed", err)
	}
}

// A function given to Do that ends the owner goroutine (runtime.Goexit,
// as t.FailNow does) gets its caller an error, and the instance is freed:
// its port can be bound again. Before, the caller waited for ever and the
// socket and C memory leaked.
func TestGoexitInDo(t *testing.T) {
	x, err := New(pairOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	port, err := x.UDPPort()
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		err = x.Do(func(*Core) error { runtime.Goexit(); return nil })
	}()
	waitDone(t, returned, 10*time.Second, "Do whose function called Goexit")
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Do: %v, want ErrClosed", err)
	}
	waitDone(t, x.Done(), 10*time.Second, "the instance after Goexit")
	closed := make(chan struct{})
	go func() { defer close(closed); _ = x.Close() }()
	waitDone(t, closed, 10*time.Second, "Close after Goexit")
	if err := x.Do(func(*Core) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Goexit: %v, want ErrClosed", err)
	}
	// tox_kill ran: the instance is gone. (Binding the port again would
	// race with instances other tests start.)
	if x.core.ptr != nil {
		t.Fatalf("the instance on port %d was not killed", port)
	}
}

// A FIFO where the profile should be is refused at once, not waited on
// until some writer opens it.
func TestLoadProfileFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "profile.tox")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	var lerr error
	done := make(chan struct{})
	go func() { defer close(done); _, lerr = LoadProfile(p, nil) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Unblock the open so that the goroutine ends with the test.
		if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("LoadProfile of a FIFO still waiting after 10 s")
	}
	if !errors.Is(lerr, ErrInvalid) {
		t.Fatalf("LoadProfile of a FIFO: %v, want ErrInvalid", lerr)
	}
}
