package tox

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCloseIdempotent(t *testing.T) {
	x, err := New(pairOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var closes atomic.Int32
	var saved []byte
	x.SetCloseHook(func(c *Core) {
		closes.Add(1)
		saved = c.Savedata()
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := x.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if closes.Load() != 1 || len(saved) == 0 {
		t.Fatalf("close hook ran %d times, saved %d bytes", closes.Load(), len(saved))
	}
	select {
	case <-x.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := x.Do(func(*Core) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: got %v, want ErrClosed", err)
	}
	if _, err := x.Savedata(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Savedata after Close: got %v, want ErrClosed", err)
	}
	if err := x.SendLossless(0, []byte{LosslessFirstID}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendLossless after Close: got %v, want ErrClosed", err)
	}
	// The error names the operation asked for, not the Do underneath.
	for name, err := range map[string]error{
		"tox: friend_send_lossless_packet: CLOSED": x.SendLossless(0, []byte{LosslessFirstID}),
		"tox: friend_add_norequest: CLOSED":        second(x.AddFriendNoRequest(PublicKey{})),
		"tox: bootstrap: CLOSED":                   x.Bootstrap("127.0.0.1", 1, PublicKey{}),
		"tox: get_savedata: CLOSED":                second(x.Savedata()),
		"tox: do: CLOSED":                          x.Do(func(*Core) error { return nil }),
	} {
		if err == nil || err.Error() != name {
			t.Errorf("after Close: got %v, want %s", err, name)
		}
	}
	x.Wake() // must not block or panic
	if x.Address().IsZero() || !x.Address().Valid() {
		t.Fatal("cached address lost after Close")
	}
	// A Core kept past its time fails safely instead of touching freed memory.
	var stale Core
	if err := stale.SendLossless(0, []byte{LosslessFirstID}); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed Core: got %v", err)
	}
	if stale.Savedata() != nil || stale.Friends() != nil {
		t.Fatal("closed Core should return zero values")
	}
}

func TestHooksAndDo(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	var iters atomic.Int32
	x.SetIterateHook(func(*Core) { iters.Add(1) })
	waitFor(t, 5*time.Second, "the iterate hook to run", func() bool { return iters.Load() >= 3 })
	interval, err := x.IterationInterval()
	if err != nil || interval <= 0 || interval > time.Second {
		t.Fatalf("IterationInterval: %v, %v", interval, err)
	}

	// Wake runs the hook without waiting for the next iteration.
	woken := make(chan struct{}, 1)
	x.SetIterateHook(func(*Core) {
		select {
		case woken <- struct{}{}:
		default:
		}
	})
	<-woken // drain one from an iteration
	x.Wake()
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("Wake did not run the hook")
	}
	x.SetIterateHook(nil)

	want := errors.New("from f")
	if err := x.Do(func(*Core) error { return want }); err != want {
		t.Fatalf("Do: got %v, want %v", err, want)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "boom") {
				t.Fatalf("panic in Do: recovered %v", r)
			}
		}()
		x.Do(func(*Core) error { panic("boom") })
	}()
	// The loop survived the panic.
	if _, err := x.UDPPort(); err != nil {
		t.Fatal(err)
	}
	// Called from the owner goroutine, where it would wait for itself, a
	// method refuses, naming its operation.
	var nested, nestedDo error
	x.Do(func(*Core) error {
		_, nested = x.FriendName(0)
		nestedDo = x.Do(func(*Core) error { return nil })
		return nil
	})
	if !errors.Is(nested, ErrInvalid) || !strings.HasPrefix(nested.Error(), "tox: friend_get_name: ") {
		t.Errorf("FriendName on the owner goroutine: got %v, want tox: friend_get_name: ErrInvalid", nested)
	}
	if !errors.Is(nestedDo, ErrInvalid) || !strings.HasPrefix(nestedDo.Error(), "tox: do: ") {
		t.Errorf("Do on the owner goroutine: got %v", nestedDo)
	}

	// Concurrent callers are serialized on the owner goroutine.
	var wg sync.WaitGroup
	var inside atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.Do(func(c *Core) error {
				if inside.Add(1) != 1 {
					t.Error("two Do functions ran at once")
				}
				c.Friends()
				inside.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if err := x.SetCallbacks(Callbacks{}); err != nil {
		t.Fatal(err)
	}
}

// TestLocalErrors covers the errors one instance can produce on its own.
func TestLocalErrors(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	port, err := x.UDPPort()
	if err != nil || port < 33445 || port > 33545 {
		t.Fatalf("UDPPort: %d, %v; want 33445..33545", port, err)
	}
	if _, err := x.TCPPort(); !errors.Is(err, ErrNotBound) {
		t.Fatalf("TCPPort without relay: got %v, want ErrNotBound", err)
	}
	if c, err := x.SelfConnection(); err != nil || c != ConnectionNone {
		t.Fatalf("SelfConnection before bootstrap: %v, %v", c, err)
	}
	if _, err := x.AddFriend(x.Address(), "me"); !errors.Is(err, ErrOwnKey) {
		t.Fatalf("AddFriend(self): got %v, want ErrOwnKey", err)
	}
	if _, err := x.AddFriendNoRequest(x.PublicKey()); !errors.Is(err, ErrOwnKey) {
		t.Fatalf("AddFriendNoRequest(self): got %v, want ErrOwnKey", err)
	}
	var stranger PublicKey
	rand.Read(stranger[:])
	stranger[31] &= 0x7F // a valid Curve25519 public key
	badKey := stranger
	badKey[31] |= 0x80
	if _, err := x.AddFriendNoRequest(badKey); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddFriendNoRequest(top bit set): got %v, want ErrInvalid", err)
	}
	if _, err := x.AddFriend(MakeAddress(badKey, 1), "hi"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddFriend(top bit set): got %v, want ErrInvalid", err)
	}
	strangerAddr := MakeAddress(stranger, 1)
	if _, err := x.AddFriend(strangerAddr, ""); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("empty request: got %v, want ErrNoMessage", err)
	}
	if _, err := x.AddFriend(strangerAddr, strings.Repeat("r", MaxFriendRequest+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long request: got %v, want ErrTooLong", err)
	}
	bad := strangerAddr
	bad[37] ^= 0xFF
	if _, err := x.AddFriend(bad, "hi"); !errors.Is(err, ErrBadChecksum) {
		t.Fatalf("bad checksum: got %v, want ErrBadChecksum", err)
	}
	fn, err := x.AddFriendNoRequest(stranger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.AddFriend(strangerAddr, "hi"); !errors.Is(err, ErrAlreadyFriend) {
		t.Fatalf("AddFriend(friend): got %v, want ErrAlreadyFriend", err)
	}
	err = x.SendLossless(fn, []byte{LosslessFirstID, 1, 2})
	if !errors.Is(err, ErrFriendNotConnected) {
		t.Fatalf("SendLossless offline: got %v, want ErrFriendNotConnected", err)
	}
	var te *Error
	if !errors.As(err, &te) || !te.Temporary() || te.Error() != "tox: friend_send_lossless_packet: FRIEND_NOT_CONNECTED" {
		t.Fatalf("offline error: %#v", err)
	}
	if _, err := x.SendMessage(fn, MessageNormal, "hi"); !errors.Is(err, ErrFriendNotConnected) {
		t.Fatalf("SendMessage offline: got %v, want ErrFriendNotConnected", err)
	}
	if c, err := x.FriendConnection(fn); err != nil || c != ConnectionNone {
		t.Fatalf("FriendConnection: %v, %v", c, err)
	}
	if name, err := x.FriendName(fn); err != nil || name != "" {
		t.Fatalf("FriendName: %q, %v", name, err)
	}
	if _, err := x.FriendByPublicKey(PublicKey{}); !errors.Is(err, ErrFriendNotFound) {
		t.Fatalf("FriendByPublicKey(unknown): got %v", err)
	}
	if _, err := x.FriendPublicKey(fn + 1); !errors.Is(err, ErrFriendNotFound) {
		t.Fatalf("FriendPublicKey(unknown): got %v", err)
	}
	if _, err := x.FriendStatusMessage(fn + 1); !errors.Is(err, ErrFriendNotFound) {
		t.Fatalf("FriendStatusMessage(unknown): got %v", err)
	}
	for _, c := range []struct {
		host string
		port uint16
	}{{"", 33445}, {"127.0.0.1", 0}, {strings.Repeat("h", MaxHostnameLength), 1}, {"127.0.0.1\x00x", 1}} {
		if err := x.Bootstrap(c.host, c.port, stranger); !errors.Is(err, ErrInvalid) {
			t.Errorf("Bootstrap(%q, %d): got %v, want ErrInvalid", c.host, c.port, err)
		}
		if err := x.AddTCPRelay(c.host, c.port, stranger); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddTCPRelay(%q, %d): got %v, want ErrInvalid", c.host, c.port, err)
		}
	}
	if err := x.SetStatusMessage(strings.Repeat("s", MaxStatusMessageLength+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long status: got %v", err)
	}
	if err := x.SetName("\xc3"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid UTF-8 name: got %v", err)
	}
	if err := x.SetName(""); err != nil {
		t.Fatalf("clearing the name: %v", err)
	}
	if sk, err := x.SecretKey(); err != nil || sk.IsZero() {
		t.Fatalf("SecretKey: %v", err)
	}
}

// logCollector is a slog.Handler that keeps records.
type logCollector struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logCollector) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCollector) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCollector) WithGroup(string) slog.Handler            { return l }
func (l *logCollector) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r.Clone())
	l.mu.Unlock()
	return nil
}

func (l *logCollector) text() (n int, maxLevel slog.Level, all string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sb strings.Builder
	maxLevel = slog.LevelDebug - 8
	for _, r := range l.records {
		maxLevel = max(maxLevel, r.Level)
		sb.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			sb.WriteString(" " + a.String())
			return true
		})
		sb.WriteString("\n")
	}
	return len(l.records), maxLevel, sb.String()
}

// TestLogRouting checks that libtoxcore's log reaches the Logger in the
// Debian build (which compiles out trace and debug messages) by making
// tox_new fail to bind a port that is taken: the log callback works from
// inside tox_new, in the Debug band, with level and source attributes.
func TestLogRouting(t *testing.T) {
	taken, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := uint16(taken.LocalAddr().(*net.UDPAddr).Port)
	var coll logCollector
	o := LoopbackOptions()
	o.StartPort, o.EndPort = port, port
	o.Logger = slog.New(&coll)
	if x, err := New(o); !errors.Is(err, ErrPortAlloc) {
		if x != nil {
			x.Close()
		}
		t.Fatalf("New on a taken port: got %v, want ErrPortAlloc", err)
	}
	n, maxLevel, all := coll.text()
	if n == 0 {
		t.Fatal("libtoxcore logged nothing about the failed bind")
	}
	if maxLevel >= slog.LevelInfo {
		t.Errorf("libtoxcore logged at %v; everything should stay below Info", maxLevel)
	}
	if !strings.Contains(all, "tox_level=") || !strings.Contains(all, "src=") || !strings.Contains(all, "bind") {
		t.Errorf("records lack tox_level/src attributes or the bind failure:\n%.1000s", all)
	}

	// A logger that wants nothing gets no callback at all.
	if lvl := minLogLevel(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))); lvl != -1 {
		t.Errorf("minLogLevel for an Info logger: got %d, want -1", lvl)
	}
	if lvl := minLogLevel(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))); lvl != logDebug {
		t.Errorf("minLogLevel for a Debug logger: got %d, want %d", lvl, logDebug)
	}
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }
