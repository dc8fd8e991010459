package tox

/*
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"log/slog"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Tox is a running Tox instance: a Core and the goroutine that owns it.
// The goroutine runs tox_iterate at the pace libtoxcore asks for
// (tox_iteration_interval), runs the functions given to Do, the iterate
// hook and the callbacks. All methods of *Tox are safe for concurrent use;
// on the owner goroutine itself the synchronous ones return an error
// instead of waiting for it (see Callbacks).
type Tox struct {
	core    Core
	handle  cgo.Handle
	logger  *slog.Logger
	logs    logLimiter // of libtoxcore's lines, by source
	addr    Address
	pk      PublicKey
	dhtKey  PublicKey
	reqs    chan request
	wake    chan struct{}
	closing chan struct{} // closed by Close
	done    chan struct{} // closed when the loop has exited and the instance is freed

	iterHook  atomic.Pointer[func(*Core)]
	closeHook atomic.Pointer[func(*Core)]
	closeOnce sync.Once
	owner     atomic.Uint64 // the loop goroutine's ID (goid), once it runs

	// Owned by the loop goroutine.
	cb       Callbacks
	panicked any
}

type request struct {
	f    func(*Core) error
	done chan result
}

type result struct {
	err      error
	panicked any
}

// New creates a Tox instance from opts and starts its goroutine. It binds
// a UDP port (unless UDP is off) but contacts nobody until Bootstrap.
// Close it to free the port and the C memory.
func New(opts Options) (*Tox, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t := &Tox{
		logger:  opts.Logger,
		cb:      opts.Callbacks,
		reqs:    make(chan request),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	// The handle must exist before tox_new: libtoxcore logs from inside it.
	t.handle = cgo.NewHandle(t)
	ptr, err := t.newC(&opts)
	if err != nil {
		t.handle.Delete()
		return nil, err
	}
	t.core.ptr = ptr
	C.toxmail_install_callbacks(ptr)
	t.addr = t.core.Address()
	t.pk = t.core.PublicKey()
	t.dhtKey = t.core.DHTKey()
	go t.loop()
	return t, nil
}

// newC builds the C options and calls tox_new.
func (t *Tox) newC(o *Options) (*C.Tox, error) {
	var oe C.Tox_Err_Options_New
	copts := C.tox_options_new(&oe)
	if copts == nil {
		return nil, toxError(opOptionsNew, int(oe))
	}
	// The proxy host and the savedata copy must outlive the options
	// object (tox.h), so they are freed after it.
	var host *C.char
	var sd unsafe.Pointer
	var sdLen C.size_t
	defer func() {
		C.tox_options_free(copts)
		if host != nil {
			C.free(unsafe.Pointer(host))
		}
		if sd != nil {
			C.toxmail_wipe(sd, sdLen) // it holds the secret key
			C.free(sd)
		}
	}()
	C.tox_options_set_udp_enabled(copts, C.bool(o.UDP))
	C.tox_options_set_ipv6_enabled(copts, C.bool(o.IPv6))
	C.tox_options_set_local_discovery_enabled(copts, C.bool(o.LocalDiscovery))
	C.tox_options_set_hole_punching_enabled(copts, C.bool(o.HolePunching))
	C.tox_options_set_dht_announcements_enabled(copts, C.bool(o.DHTAnnouncements))
	C.tox_options_set_start_port(copts, C.uint16_t(o.StartPort))
	C.tox_options_set_end_port(copts, C.uint16_t(o.EndPort))
	C.tox_options_set_tcp_port(copts, C.uint16_t(o.TCPPort))
	C.tox_options_set_proxy_type(copts, C.Tox_Proxy_Type(o.Proxy))
	if o.Proxy != ProxyNone {
		host = C.CString(o.ProxyHost)
		C.tox_options_set_proxy_host(copts, host)
		C.tox_options_set_proxy_port(copts, C.uint16_t(o.ProxyPort))
	}
	if len(o.Savedata) > 0 {
		// A C copy, wiped afterwards (above).
		sdLen = C.size_t(len(o.Savedata))
		sd = C.CBytes(o.Savedata)
		C.tox_options_set_savedata_type(copts, C.TOX_SAVEDATA_TYPE_TOX_SAVE)
		C.tox_options_set_savedata_data(copts, (*C.uint8_t)(sd), sdLen)
	}
	if lvl := minLogLevel(t.logger); lvl >= 0 {
		C.toxmail_options_set_log(copts, C.uintptr_t(t.handle), C.int(lvl))
	}
	var e C.Tox_Err_New
	ptr := C.tox_new(copts, &e)
	if err := toxError(opNew, int(e)); err != nil {
		// libtoxcore returns a partly loaded instance for a bad save;
		// toxmail never runs on a half-read profile.
		if ptr != nil {
			C.tox_kill(ptr)
		}
		return nil, err
	}
	if ptr == nil {
		return nil, &Error{Op: opNew, Code: codeGo, Name: "NULL", detail: "tox_new returned no instance"}
	}
	return ptr, nil
}

// loop is the owner goroutine.
func (t *Tox) loop() {
	t.owner.Store(goid())
	defer t.exited()
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	for {
		if !time.Now().Before(next) {
			t.core.iterate(uintptr(t.handle))
			t.repanic()
			t.runIterHook()
			next = time.Now().Add(t.interval())
		}
		// Even when the next iteration is already due, go through the
		// select (the timer fires at once), so that Do and Close are never
		// starved by a zero interval.
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case r := <-t.reqs:
			t.run(r)
		case <-t.wake:
			t.runIterHook()
		case <-t.closing:
			t.shutdown()
			return
		}
	}
}

// busyInterval caps the iteration interval while lossless data flows (a
// send queue was full or a packet arrived in the last iteration), so that
// libtoxcore reads the socket, sends acknowledgements and frees queue
// space sooner than its own pacing would. On loopback it raises lossless
// throughput by about a quarter (1.4 to 1.75 MB/s); it costs CPU only
// while data is moving.
const busyInterval = time.Millisecond

// interval returns the time to the next tox_iterate.
func (t *Tox) interval() time.Duration {
	d := t.core.IterationInterval()
	if t.core.busy {
		t.core.busy = false
		d = min(d, busyInterval)
	}
	return d
}

// repanic re-raises a panic recovered in a callback, now that no C frame
// is on the stack.
func (t *Tox) repanic() {
	if p := t.panicked; p != nil {
		t.panicked = nil
		panic(p)
	}
}

func (t *Tox) runIterHook() {
	if f := t.iterHook.Load(); f != nil {
		(*f)(&t.core)
	}
}

// exited ends the owner goroutine. The loop leaves without Close when a
// function it ran ended the goroutine (runtime.Goexit, which t.FailNow
// calls), or when a panic it re-raised (from a callback or a hook)
// unwinds it; then the instance is freed here, the close hook included,
// so that its socket and memory are not leaked and later calls of Do and
// Close return. (On a panic the process is about to end anyway: a close
// hook that blocked would hold that up.)
func (t *Tox) exited() {
	t.closeOnce.Do(func() { close(t.closing) })
	if t.core.ptr != nil {
		t.shutdown()
	}
	close(t.done)
}

// run runs r's function for Do and hands back its error, or the panic it
// raised, or an error if it called runtime.Goexit (which ends the owner
// goroutine and so the instance).
func (t *Tox) run(r request) {
	res := result{err: &Error{Op: opDo, Code: codeGo, Name: ErrClosed.Name, kind: ErrClosed,
		detail: "the function called runtime.Goexit (t.FailNow?) on the owner goroutine, which closes the instance"}}
	defer func() {
		if p := recover(); p != nil {
			res = result{panicked: p}
		}
		r.done <- res
	}()
	res = result{err: r.f(&t.core)}
}

// shutdown runs the close hook and frees everything, on the owner
// goroutine.
func (t *Tox) shutdown() {
	defer func() {
		C.tox_kill(t.core.ptr)
		t.core.ptr = nil
		t.handle.Delete()
	}()
	if f := t.closeHook.Load(); f != nil {
		(*f)(&t.core)
	}
}

// Do runs f on the owner goroutine and returns its error, or ErrClosed if
// the instance is closed. f may use the Core only while it runs. A panic
// in f is re-raised in the caller. Called from the owner goroutine itself
// (a callback, a hook or f), where it would wait for itself, Do runs
// nothing and returns an error matching ErrInvalid.
func (t *Tox) Do(f func(*Core) error) error { return t.do(opDo, f) }

// do is Do for the method op names (the libtoxcore function's name, as
// the Core method's errors give it), so that its ErrClosed and
// ErrInvalid name the operation the caller asked for, not "do".
func (t *Tox) do(op string, f func(*Core) error) error {
	if t.onOwner() {
		return ownerError(op)
	}
	r := request{f: f, done: make(chan result, 1)}
	select {
	case t.reqs <- r:
	case <-t.closing:
		return closedError(op)
	}
	res := <-r.done
	if res.panicked != nil {
		panic(res.panicked)
	}
	return res.err
}

// Wake makes the owner goroutine run the iterate hook soon, without
// waiting for the next iteration. It never blocks; wakes coalesce.
func (t *Tox) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// SetIterateHook sets f to run on the owner goroutine after every
// tox_iterate and after every Wake; nil removes it. f gets the Core, so it
// can send queued packets (stop at ErrSendQ and continue next time). It
// must not block or call Do.
func (t *Tox) SetIterateHook(f func(*Core)) {
	if f == nil {
		t.iterHook.Store(nil)
		return
	}
	t.iterHook.Store(&f)
}

// SetCloseHook sets f to run once on the owner goroutine during Close,
// before the instance is freed: the place to save the profile. nil
// removes it. Like a callback, f must not call Do (it gets the Core).
func (t *Tox) SetCloseHook(f func(*Core)) {
	if f == nil {
		t.closeHook.Store(nil)
		return
	}
	t.closeHook.Store(&f)
}

// SetCallbacks replaces the callbacks given in Options.
func (t *Tox) SetCallbacks(cb Callbacks) error {
	return t.do(opSetCallbacks, func(*Core) error {
		t.cb = cb
		return nil
	})
}

// Close stops the loop, runs the close hook, kills the instance and frees
// its memory, then returns. It is idempotent and safe from any goroutine.
// Called from the owner goroutine (a callback or hook), it cannot wait for
// that goroutine: it returns at once, and the instance closes as soon as
// the callback or hook returns (Done tells when). Later calls of Do return
// ErrClosed.
func (t *Tox) Close() error {
	t.closeOnce.Do(func() { close(t.closing) })
	if t.onOwner() {
		return nil
	}
	<-t.done
	return nil
}

// Done returns a channel closed once the instance has been freed.
func (t *Tox) Done() <-chan struct{} { return t.done }

// String names the instance by the short form of its public key.
func (t *Tox) String() string { return fmt.Sprintf("tox(%s)", t.pk.Short()) }

// Address returns our Tox ID (cached at New).
func (t *Tox) Address() Address { return t.addr }

// PublicKey returns our long-term public key (cached at New).
func (t *Tox) PublicKey() PublicKey { return t.pk }

// DHTKey returns this session's DHT key (cached at New).
func (t *Tox) DHTKey() PublicKey { return t.dhtKey }

// do1 runs a one-result Core method, named op, through Do.
func do1[T any](t *Tox, op string, f func(c *Core) (T, error)) (T, error) {
	var v T
	err := t.do(op, func(c *Core) error {
		var err error
		v, err = f(c)
		return err
	})
	return v, err
}

// SecretKey returns our long-term secret key; see Core.SecretKey.
func (t *Tox) SecretKey() (SecretKey, error) {
	return do1(t, opSelfGetSecretKey, func(c *Core) (SecretKey, error) { return c.SecretKey(), nil })
}

// UDPPort returns the bound UDP port; see Core.UDPPort.
func (t *Tox) UDPPort() (uint16, error) { return do1(t, opSelfGetUDPPort, (*Core).UDPPort) }

// TCPPort returns the TCP relay server's port; see Core.TCPPort.
func (t *Tox) TCPPort() (uint16, error) { return do1(t, opSelfGetTCPPort, (*Core).TCPPort) }

// Savedata returns the profile; see Core.Savedata. It fails once closed
// (use the close hook to save at Close).
func (t *Tox) Savedata() ([]byte, error) {
	return do1(t, opGetSavedata, func(c *Core) ([]byte, error) { return c.Savedata(), nil })
}

// SelfConnection returns our DHT connection; see Core.SelfConnection.
func (t *Tox) SelfConnection() (Connection, error) {
	return do1(t, opSelfGetConnectionStatus, func(c *Core) (Connection, error) { return c.SelfConnection(), nil })
}

// IterationInterval returns libtoxcore's wanted iteration interval.
func (t *Tox) IterationInterval() (time.Duration, error) {
	return do1(t, opIterationInterval, func(c *Core) (time.Duration, error) { return c.IterationInterval(), nil })
}

// SetName sets our nickname; see Core.SetName.
func (t *Tox) SetName(name string) error {
	return t.do(opSelfSetName, func(c *Core) error { return c.SetName(name) })
}

// SetStatusMessage sets our status message; see Core.SetStatusMessage.
func (t *Tox) SetStatusMessage(msg string) error {
	return t.do(opSelfSetStatusMessage, func(c *Core) error { return c.SetStatusMessage(msg) })
}

// Bootstrap contacts a DHT node; see Core.Bootstrap.
func (t *Tox) Bootstrap(host string, port uint16, dhtKey PublicKey) error {
	return t.do(opBootstrap, func(c *Core) error { return c.Bootstrap(host, port, dhtKey) })
}

// AddTCPRelay adds a TCP relay; see Core.AddTCPRelay.
func (t *Tox) AddTCPRelay(host string, port uint16, key PublicKey) error {
	return t.do(opAddTCPRelay, func(c *Core) error { return c.AddTCPRelay(host, port, key) })
}

// AddFriend sends a friend request; see Core.AddFriend.
func (t *Tox) AddFriend(addr Address, message string) (uint32, error) {
	return do1(t, opFriendAdd, func(c *Core) (uint32, error) { return c.AddFriend(addr, message) })
}

// AddFriendNoRequest adds a friend silently; see Core.AddFriendNoRequest.
func (t *Tox) AddFriendNoRequest(pk PublicKey) (uint32, error) {
	return do1(t, opFriendAddNorequest, func(c *Core) (uint32, error) { return c.AddFriendNoRequest(pk) })
}

// DeleteFriend removes a friend; see Core.DeleteFriend.
func (t *Tox) DeleteFriend(fn uint32) error {
	return t.do(opFriendDelete, func(c *Core) error { return c.DeleteFriend(fn) })
}

// FriendByPublicKey finds a friend number; see Core.FriendByPublicKey.
func (t *Tox) FriendByPublicKey(pk PublicKey) (uint32, error) {
	return do1(t, opFriendByPublicKey, func(c *Core) (uint32, error) { return c.FriendByPublicKey(pk) })
}

// Friends lists friend numbers; see Core.Friends.
func (t *Tox) Friends() ([]uint32, error) {
	return do1(t, opSelfGetFriendList, func(c *Core) ([]uint32, error) { return c.Friends(), nil })
}

// FriendPublicKey returns a friend's key; see Core.FriendPublicKey.
func (t *Tox) FriendPublicKey(fn uint32) (PublicKey, error) {
	return do1(t, opFriendGetPublicKey, func(c *Core) (PublicKey, error) { return c.FriendPublicKey(fn) })
}

// FriendConnection returns a friend's connection; see Core.FriendConnection.
func (t *Tox) FriendConnection(fn uint32) (Connection, error) {
	return do1(t, opFriendGetConnectionStatus, func(c *Core) (Connection, error) { return c.FriendConnection(fn) })
}

// FriendName returns a friend's nickname; see Core.FriendName.
func (t *Tox) FriendName(fn uint32) (string, error) {
	return do1(t, opFriendGetName, func(c *Core) (string, error) { return c.FriendName(fn) })
}

// FriendStatusMessage returns a friend's status message; see
// Core.FriendStatusMessage.
func (t *Tox) FriendStatusMessage(fn uint32) (string, error) {
	return do1(t, opFriendGetStatusMessage, func(c *Core) (string, error) { return c.FriendStatusMessage(fn) })
}

// SendMessage sends a text message; see Core.SendMessage.
func (t *Tox) SendMessage(fn uint32, typ MessageType, text string) (uint32, error) {
	return do1(t, opFriendSendMessage, func(c *Core) (uint32, error) { return c.SendMessage(fn, typ, text) })
}

// SendLossless sends one lossless packet; see Core.SendLossless. For a
// stream of packets, send from the iterate hook instead: one Do per packet
// is a goroutine round trip each.
func (t *Tox) SendLossless(fn uint32, data []byte) error {
	return t.do(opFriendSendLosslessPacket, func(c *Core) error { return c.SendLossless(fn, data) })
}
