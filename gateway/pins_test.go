package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/toxmail/toxmail/gateway"
)

// TestResolvePinsTox1Keys: the key an address first resolves to by tox1 DNS
// is pinned; a later answer with another key (a spoofed or hijacked record)
// is refused, permanently and saying why, until the pin is deleted or the
// address is put in the address book, which DNS never overrides. The pins
// outlive the node.
func TestResolvePinsTox1Keys(t *testing.T) {
	first, second := resolveTestID(21), resolveTestID(22)
	var answer atomic.Pointer[gateway.ToxID]
	answer.Store(&first)
	dns := gateway.TXTResolverFunc(func(context.Context, string) ([]gateway.TXT, error) {
		return []gateway.TXT{{Text: "v=tox1;id=" + answer.Load().String()}}, nil
	})
	path := filepath.Join(t.TempDir(), "tox1-pins.txt")
	pins, err := gateway.OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &gateway.Resolver{DNS: dns, Pins: pins}
	ctx := context.Background()
	for range 2 {
		res, err := r.Resolve(ctx, "Erin@Example.org")
		if err != nil || res.ID != first {
			t.Fatalf("Resolve = %v, %v; want the first key", res.ID, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pin file: %v, %v; want mode 0600", fi, err)
	}

	answer.Store(&second) // the record now names another key
	_, err = r.Resolve(ctx, "erin@example.org")
	var re *gateway.ResolveError
	if !errors.As(err, &re) || re.Temporary() || !errors.Is(err, gateway.ErrKeyChanged) ||
		!strings.Contains(re.Reason, "spoofed") || !strings.Contains(re.Summary(), "--address erin@example.org") {
		t.Fatalf("Resolve after the key changed = %v; want a permanent ErrKeyChanged that says what to do", err)
	}
	if res, err := r.Resolve(ctx, "frank@example.org"); err != nil || res.ID != second {
		t.Fatalf("another address: %v, %v", res.ID, err) // pins are per address
	}

	// After a restart the pin still holds; the address book overrides it.
	pins, err = gateway.OpenPinFile(path)
	if err != nil || pins.Len() != 2 {
		t.Fatalf("reopened pins: %d, %v; want 2", pins.Len(), err)
	}
	r = &gateway.Resolver{DNS: dns, Pins: pins, Contacts: newTestBook(t, gateway.Contact{Address: "frank@example.org", ID: first})}
	if _, err := r.Resolve(ctx, "erin@example.org"); !errors.Is(err, gateway.ErrKeyChanged) {
		t.Fatalf("after a restart: %v, want ErrKeyChanged", err)
	}
	if res, err := r.Resolve(ctx, "frank@example.org"); err != nil || res.Source != gateway.SourceContacts || res.ID != first {
		t.Fatalf("an address in the book: %+v, %v; want the book's ID", res, err)
	}

	// Deleting the pin's line accepts the new key.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "erin@example.org ") })
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	pins, err = gateway.OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r = &gateway.Resolver{DNS: dns, Pins: pins}
	if res, err := r.Resolve(ctx, "erin@example.org"); err != nil || res.ID != second {
		t.Fatalf("after deleting the pin: %v, %v; want the new key", res.ID, err)
	}
}

// TestPinFileDamage: a line cut short by a crash, or a bad edit, is
// skipped and kept, and the next pin starts on a line of its own.
func TestPinFileDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tox1-pins.txt")
	good := resolveTestID(31).PublicKey()
	content := "# pins\n\nerin@example.org " + good.String() + " 2026-12-07T00:00:00Z\nnot a pin\nfrank@example.org 1A2B"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	pins, err := gateway.OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins.Skipped(); !slices.Equal(got, []int{4, 5}) || pins.Len() != 1 {
		t.Fatalf("Skipped = %v, Len = %d; want lines 4 and 5 skipped, 1 pin", got, pins.Len())
	}
	if prev, err := pins.Pin("erin@example.org", resolveTestID(32).PublicKey()); err != nil || prev != good {
		t.Fatalf("Pin of a pinned address = %v, %v; want the pinned key", prev, err)
	}
	if prev, err := pins.Pin("frank@example.org", good); err != nil || !prev.IsZero() {
		t.Fatalf("Pin of a new address = %v, %v", prev, err)
	}
	again, err := gateway.OpenPinFile(path)
	if err != nil || again.Len() != 2 || !slices.Equal(again.Skipped(), []int{4, 5}) {
		t.Fatalf("reopened: %d pins, skipped %v, %v; want 2 pins and the same lines skipped", again.Len(), again.Skipped(), err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), content+"\n") {
		t.Fatalf("the file was rewritten:\n%s", data)
	}
}

// TestPinFileReloadAndMode: Reload takes lines deleted by hand, and a
// pin file made readable by others is put back to 0600 when a pin is
// written.
func TestPinFileReloadAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tox1-pins.txt")
	k1, k2 := resolveTestID(41).PublicKey(), resolveTestID(42).PublicKey()
	if err := os.WriteFile(path, []byte("erin@example.org "+k1.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pins, err := gateway.OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := pins.Reload(); changed || err != nil {
		t.Fatalf("Reload of an unchanged file = %v, %v", changed, err)
	}
	if _, err := pins.Pin("frank@example.org", k2); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after a pin the file is %v (%v), want mode 0600", fi.Mode().Perm(), err)
	}
	if err := os.WriteFile(path, []byte("frank@example.org "+k2.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := pins.Reload(); !changed || err != nil {
		t.Fatalf("Reload after an edit = %v, %v", changed, err)
	}
	if _, ok := pins.Lookup("erin@example.org"); ok {
		t.Error("a deleted pin still holds after Reload")
	}
	if k, ok := pins.Lookup("Frank@Example.org"); !ok || k != k2 {
		t.Errorf("Lookup(frank) = %v, %v after Reload", k, ok)
	}
}

// TestPinFileReloadAfterPin: a pin deleted by hand right after it was made,
// which brings the file back to the bytes last read, is dropped by Reload;
// and a Reload running beside Pin never loses the new pin from the map
// (review of this change).
func TestPinFileReloadAfterPin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tox1-pins.txt")
	pins, err := gateway.OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pins.Pin("erin@example.org", resolveTestID(51).PublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil { // back to the (empty) bytes last read
		t.Fatal(err)
	}
	if changed, err := pins.Reload(); !changed || err != nil {
		t.Fatalf("Reload after the deletion = %v, %v; want a change", changed, err)
	}
	if _, ok := pins.Lookup("erin@example.org"); ok {
		t.Fatal("the deleted pin still holds")
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				pins.Reload()
			}
		}
	}()
	for i := range 200 {
		addr := fmt.Sprintf("user%d@example.org", i)
		key := resolveTestID(byte(i)).PublicKey()
		if _, err := pins.Pin(addr, key); err != nil {
			t.Fatal(err)
		}
		if k, ok := pins.Lookup(addr); !ok || k != key {
			close(stop)
			<-done
			t.Fatalf("pin %d lost from the map by a Reload beside it", i)
		}
	}
	close(stop)
	<-done
}
