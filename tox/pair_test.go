package tox

// Test helpers shared by the package's tests (binding and transport):
// instances on loopback, a connected pair, bounded waits and a recorder of
// callback events. Every instance uses LoopbackOptions and bootstraps only
// to 127.0.0.1; every wait is bounded and fails the test when it expires.
//
//	pairOptions(t) Options                      loopback options (+ logger if TOXMAIL_TOX_LOG=1)
//	pairNew(t, opts) *Tox                       New, closed at cleanup
//	pairBootstrap(t, a, b)                      a and b bootstrap to each other
//	pairConnect(t, optsA, optsB) *pair          two friends, both online
//	waitFor(t, timeout, what, cond)             poll cond until true or fail
//	waitOnline(t, timeout, x, fn)               wait until x sees friend fn online
//	newPairRecorder() *pairRecorder             records callbacks; rec.Callbacks()

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

const (
	// pairConnectTimeout bounds the wait for a friend connection; on
	// loopback it takes about 9-10 s.
	pairConnectTimeout = 30 * time.Second
	// waitPoll is the polling period of waitFor.
	waitPoll = 20 * time.Millisecond
)

// pairOptions returns LoopbackOptions (IPv6, LAN discovery, hole punching
// and DHT announcements off). With TOXMAIL_TOX_LOG=1 in the environment,
// libtoxcore's log goes to the test log.
func pairOptions(t testing.TB) Options {
	o := LoopbackOptions()
	if os.Getenv("TOXMAIL_TOX_LOG") == "1" {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// pairNew creates an instance and closes it when the test ends.
func pairNew(t testing.TB, opts Options) *Tox {
	t.Helper()
	x, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = x.Close() })
	return x
}

// pairBootstrap makes a and b bootstrap to each other over 127.0.0.1,
// with each other's UDP port and DHT key.
func pairBootstrap(t testing.TB, a, b *Tox) {
	t.Helper()
	for _, p := range [][2]*Tox{{a, b}, {b, a}} {
		port, err := p[1].UDPPort()
		if err != nil {
			t.Fatalf("UDPPort: %v", err)
		}
		if err := p[0].Bootstrap("127.0.0.1", port, p[1].DHTKey()); err != nil {
			t.Fatalf("Bootstrap: %v", err)
		}
	}
}

// pair is two instances that are friends of each other.
type pair struct {
	A, B *Tox
	AB   uint32 // B's friend number on A
	BA   uint32 // A's friend number on B
}

// pairConnect creates two instances from optsA and optsB (set their
// Callbacks as needed), bootstraps them to each other, makes them friends
// with AddFriendNoRequest and waits until each sees the other online. The
// instances are closed when the test ends. It takes about 10 s.
func pairConnect(t testing.TB, optsA, optsB Options) *pair {
	t.Helper()
	p := &pair{A: pairNew(t, optsA), B: pairNew(t, optsB)}
	pairBootstrap(t, p.A, p.B)
	var err error
	if p.AB, err = p.A.AddFriendNoRequest(p.B.PublicKey()); err != nil {
		t.Fatalf("A.AddFriendNoRequest: %v", err)
	}
	if p.BA, err = p.B.AddFriendNoRequest(p.A.PublicKey()); err != nil {
		t.Fatalf("B.AddFriendNoRequest: %v", err)
	}
	start := time.Now()
	waitOnline(t, pairConnectTimeout, p.A, p.AB)
	waitOnline(t, pairConnectTimeout-time.Since(start), p.B, p.BA)
	t.Logf("pair connected in %v", time.Since(start).Round(time.Millisecond))
	return p
}

// waitFor polls cond every 20 ms until it returns true, and fails the
// test (naming what) once timeout has passed. It always stops.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for n := 0; ; n++ {
		if cond() {
			return
		}
		if time.Now().After(deadline) || n > int(timeout/waitPoll)+1 {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(waitPoll)
	}
}

// waitOnline waits until x sees friend fn connected (TCP or UDP).
func waitOnline(t testing.TB, timeout time.Duration, x *Tox, fn uint32) {
	t.Helper()
	waitFor(t, timeout, x.String()+" to see its friend online", func() bool {
		c, err := x.FriendConnection(fn)
		return err == nil && c.Online()
	})
}

// pairRecorder records callback events for tests. Its methods are safe
// from any goroutine; the callbacks only append under a mutex.
type pairRecorder struct {
	mu       sync.Mutex
	self     []Connection
	requests []pairRequest
	conns    []pairConn
	messages []pairMessage
	names    []string
	lossless func(fn uint32, pk PublicKey, data []byte) // optional, on the owner goroutine
}

type pairRequest struct {
	PK      PublicKey
	Message string
}

type pairConn struct {
	FN   uint32
	PK   PublicKey
	Conn Connection
}

type pairMessage struct {
	FN   uint32
	PK   PublicKey
	Type MessageType
	Text string
}

func newPairRecorder() *pairRecorder { return &pairRecorder{} }

// Callbacks returns callbacks that record into r.
func (r *pairRecorder) Callbacks() Callbacks {
	return Callbacks{
		SelfConnection: func(c Connection) {
			r.mu.Lock()
			r.self = append(r.self, c)
			r.mu.Unlock()
		},
		FriendRequest: func(pk PublicKey, msg string) {
			r.mu.Lock()
			r.requests = append(r.requests, pairRequest{pk, msg})
			r.mu.Unlock()
		},
		FriendConnection: func(fn uint32, pk PublicKey, c Connection) {
			r.mu.Lock()
			r.conns = append(r.conns, pairConn{fn, pk, c})
			r.mu.Unlock()
		},
		FriendMessage: func(fn uint32, pk PublicKey, typ MessageType, text string) {
			r.mu.Lock()
			r.messages = append(r.messages, pairMessage{fn, pk, typ, text})
			r.mu.Unlock()
		},
		FriendLossless: func(fn uint32, pk PublicKey, data []byte) {
			r.mu.Lock()
			f := r.lossless
			r.mu.Unlock()
			if f != nil {
				f(fn, pk, data)
			}
		},
		FriendName: func(fn uint32, pk PublicKey, name string) {
			r.mu.Lock()
			r.names = append(r.names, name)
			r.mu.Unlock()
		},
	}
}

// setLossless sets the function that receives lossless packets.
func (r *pairRecorder) setLossless(f func(fn uint32, pk PublicKey, data []byte)) {
	r.mu.Lock()
	r.lossless = f
	r.mu.Unlock()
}

// snapshot returns copies of what r has recorded.
func (r *pairRecorder) snapshot() (self []Connection, reqs []pairRequest, conns []pairConn, msgs []pairMessage, names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Connection(nil), r.self...), append([]pairRequest(nil), r.requests...),
		append([]pairConn(nil), r.conns...), append([]pairMessage(nil), r.messages...),
		append([]string(nil), r.names...)
}

// messageCount returns how many text messages r has recorded.
func (r *pairRecorder) messageCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.messages)
}
