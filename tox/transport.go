package tox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/toxmail/toxmail/internal/loglimit"
	"github.com/toxmail/toxmail/mesh"
)

// PeerKind says whether a friend speaks the mesh protocol.
type PeerKind uint8

// Peer kinds. A friend is Unknown until it sends a mesh packet (Mesh) or
// stays connected for TransportConfig.HelloTimeout without one (Plain: a
// qTox, uTox or toxic user, reachable by text messages only).
const (
	PeerUnknown PeerKind = iota
	PeerMesh
	PeerPlain
)

// String returns "unknown", "mesh" or "plain".
func (k PeerKind) String() string {
	return [...]string{"unknown", "mesh", "plain"}[k]
}

// TransportConfig tunes a Transport.
type TransportConfig struct {
	// MaxFrame is the largest mesh frame sent or reassembled, in bytes.
	// Default 16 MiB; it must exceed the mesh's MaxEnvelopeSize.
	MaxFrame int
	// MaxQueue bounds the bytes waiting to be sent to one friend; past it
	// Send reports mesh.ErrBackpressure. An empty queue takes one frame of
	// any size up to MaxFrame. Default 16 MiB.
	MaxQueue int
	// MaxInbound bounds the bytes received and not yet handled by the mesh,
	// all friends together; past it envelope bodies and texts are dropped
	// (and counted), and session frames (mesh.IsControl) use a reserve of
	// as much again, past which they are dropped too. Default 64 MiB.
	MaxInbound int
	// HelloTimeout is how long a connected friend may stay silent on the
	// mesh before it counts as a plain Tox client. Default 20 s.
	HelloTimeout time.Duration
	// Policy decides friend requests. Default AcceptKnown.
	Policy RequestPolicy
	// Known reports whether a public key belongs to a contact (for
	// AcceptKnown); it runs on the dispatch goroutine, never on Tox's.
	// nil means nobody is known.
	Known func(PublicKey) bool
	// OnText receives text messages from friends (plain clients, or anyone
	// typing to this node), on the transport's dispatch goroutine.
	OnText func(from PublicKey, name, text string)
	// OnRequest is told of friend requests left pending (Manual policy, or
	// AcceptKnown from a stranger), on the dispatch goroutine.
	OnRequest func(Request)
	// Logger receives the transport's logs; nil discards them.
	Logger *slog.Logger
}

func (c *TransportConfig) defaults() {
	if c.MaxFrame == 0 {
		c.MaxFrame = 16 << 20
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = 16 << 20
	}
	if c.MaxInbound == 0 {
		c.MaxInbound = 64 << 20
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = 20 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// TransportStats counts a transport's traffic.
type TransportStats struct {
	FramesOut, FramesIn   uint64
	PacketsOut, PacketsIn uint64
	BytesOut, BytesIn     uint64 // frame bytes
	SendQFull             uint64 // times libtoxcore's send queue was full
	FramesLost            uint64 // queued frames dropped by a disconnect
	PartialsLost          uint64 // inbound frames cut off by a disconnect
	BadChunks             uint64 // malformed chunks
	InboundDropped        uint64 // frames dropped over MaxInbound
	TextsOut, TextsIn     uint64 // text messages
	TextsDropped          uint64 // texts libtoxcore refused for good, or over MaxInbound
	TextsConfirmed        uint64 // texts whose read receipt came back
	TextsResent           uint64 // texts sent again (counted in TextsOut too) after their connection died unconfirmed
}

// friend is the transport's state for one Tox friend.
type friend struct {
	pk          PublicKey
	num         uint32
	name        string
	conn        Connection
	kind        PeerKind
	connectedAt time.Time
	q           sendQueue
	texts       []string   // text messages waiting to be sent (kept while offline)
	unread      []sentText // texts libtoxcore took, oldest first, until their receipts
	textBytes   int        // of texts and unread together
	resend      int        // how many of texts, from the first, go again (requeueUnread)
	in          reassembler
	announce    bool // pktPresent is still to go on this connection
}

func (f *friend) online() bool { return f.conn != ConnectionNone }

// sentText is a text message libtoxcore took, by the ID it gave it.
type sentText struct {
	id   uint32
	text string
}

// requeueUnread puts the texts whose receipts have not come back in front
// of those waiting, to be sent again on the next connection: libtoxcore
// loses what it had not delivered when a connection dies. A text whose
// receipt alone was lost arrives twice. It returns how many it requeued.
func (f *friend) requeueUnread() int {
	n := len(f.unread)
	if n == 0 {
		return 0
	}
	texts := make([]string, 0, n+len(f.texts))
	for _, u := range f.unread {
		texts = append(texts, u.text)
	}
	f.texts = append(texts, f.texts...)
	f.unread = nil
	f.resend += n
	return n
}

// confirm forgets the sent text numbered id, whose receipt came back. It
// reports false for an ID it does not hold (a receipt of a text already
// requeued).
func (f *friend) confirm(id uint32) bool {
	if len(f.unread) > 0 && f.unread[0].id == id { // receipts come in order
		f.textBytes -= len(f.unread[0].text)
		f.unread[0] = sentText{}
		f.unread = f.unread[1:]
		return true
	}
	for i, u := range f.unread {
		if u.id == id {
			f.textBytes -= len(u.text)
			f.unread = append(f.unread[:i], f.unread[i+1:]...)
			return true
		}
	}
	return false
}

// Transport carries mesh frames over Tox lossless custom packets and
// implements mesh.Transport. It also sends and receives plain text
// messages, classifies friends as mesh peers or plain contacts, and applies
// the friend-request policy.
//
// Frames to a friend queue in the transport and are pumped into libtoxcore
// on the Tox goroutine until it reports a full send queue, so one slow
// friend never stalls the others. Events go to the mesh from a separate
// dispatch goroutine, so slow mesh work never stalls Tox.
type Transport struct {
	cfg TransportConfig
	log *slog.Logger
	tox *Tox

	mu      sync.Mutex
	byKey   map[PublicKey]*friend
	byNum   map[uint32]*friend
	handler mesh.Handler
	pending map[PublicKey]Request
	// pendingDropLog spaces out the warning of requests dropped past
	// maxPending, which anyone who knows the Tox ID can cause.
	pendingDropLog loglimit.Limit
	actions        []func(*Core) // run on the Tox goroutine at the next pump
	stats          TransportStats
	// dropsLogged is when inbound drops were last logged; dropsSince
	// counts those since (noteInboundDrop).
	dropsLogged time.Time
	dropsSince  int

	events     *eventQueue
	done       chan struct{}
	handlerSet chan struct{} // closed by the first SetHandler: mesh events wait for it
	buf        []byte        // packet scratch, used on the Tox goroutine only

	// Test hooks (BenchmarkToxLink): raw packets pumped like mesh chunks,
	// and non-mesh packets received.
	testRawSend func(c *Core)
	testRawRecv func(pk PublicKey, data []byte)
}

var _ mesh.Transport = (*Transport)(nil)

// NewTransport returns a transport that is not yet attached to a Tox
// instance; Attach binds it.
func NewTransport(cfg TransportConfig) *Transport {
	cfg.defaults()
	t := &Transport{
		cfg:        cfg,
		log:        cfg.Logger,
		byKey:      make(map[PublicKey]*friend),
		byNum:      make(map[uint32]*friend),
		pending:    make(map[PublicKey]Request),
		events:     newEventQueue(cfg.MaxInbound),
		done:       make(chan struct{}),
		handlerSet: make(chan struct{}),
		buf:        make([]byte, MaxCustomPacket),
	}
	go t.dispatch()
	return t
}

// Callbacks returns the libtoxcore callbacks the transport needs.
func (t *Transport) Callbacks() Callbacks {
	return Callbacks{
		FriendRequest:     t.onFriendRequest,
		FriendConnection:  t.onFriendConnection,
		FriendMessage:     t.onFriendMessage,
		FriendLossless:    t.onFriendLossless,
		FriendName:        t.onFriendName,
		FriendReadReceipt: t.onFriendReadReceipt,
		SelfConnection:    t.onSelfConnection,
	}
}

// onSelfConnection logs each change of the node's connection to the Tox
// network, so that a node that cannot join (a wrong bootstrap key, a
// firewall, no TCP relay with UDP off) says so instead of waiting in
// silence.
func (t *Transport) onSelfConnection(c Connection) {
	if c.Online() {
		t.log.Info("joined the Tox network", "via", c.String())
	} else {
		t.log.Warn("lost the connection to the Tox network; trying the peers it knows (and the node its bootstrap nodes)")
	}
}

// Attach binds the transport to a running instance: it installs its
// callbacks and iterate hook and loads the friend list with each friend's
// connection state.
func (t *Transport) Attach(x *Tox) error {
	t.mu.Lock()
	t.tox = x
	t.mu.Unlock()
	if err := x.SetCallbacks(t.Callbacks()); err != nil {
		return fmt.Errorf("tox: attaching transport: %w", err)
	}
	err := x.Do(func(c *Core) error {
		for _, num := range c.Friends() {
			pk, err := c.FriendPublicKey(num)
			if err != nil {
				return err
			}
			name, _ := c.FriendName(num)
			conn, _ := c.FriendConnection(num)
			t.mu.Lock()
			f := t.addFriendLocked(num, pk)
			f.name = name
			t.mu.Unlock()
			if conn != ConnectionNone {
				t.onFriendConnection(num, pk, conn)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tox: loading friends: %w", err)
	}
	x.SetIterateHook(t.pump)
	return nil
}

// Close stops the dispatch goroutine. It does not close the Tox instance.
// Texts not yet confirmed by their friends are lost with the transport:
// Close logs how many, per friend.
func (t *Transport) Close() error {
	t.events.close()
	<-t.done
	t.mu.Lock()
	for _, f := range t.byKey {
		if len(f.texts)+len(f.unread) > 0 {
			t.log.Warn("text messages to a plain Tox friend lost: the node stopped before they were sent, or before the friend confirmed them (those may have arrived)",
				"friend", f.pk, "unsent", len(f.texts), "unconfirmed", len(f.unread), "bytes", f.textBytes)
			f.texts, f.unread, f.textBytes, f.resend = nil, nil, 0, 0
		}
	}
	t.mu.Unlock()
	return nil
}

func (t *Transport) addFriendLocked(num uint32, pk PublicKey) *friend {
	if f := t.byKey[pk]; f != nil {
		if f.num != num {
			delete(t.byNum, f.num)
			f.num = num
			t.byNum[num] = f
		}
		return f
	}
	f := &friend{pk: pk, num: num, in: reassembler{max: t.cfg.MaxFrame}}
	t.byKey[pk] = f
	t.byNum[num] = f
	return f
}

// SetHandler implements mesh.Transport.
// Frames and connection events that arrive before it is called wait for
// the handler rather than being lost.
func (t *Transport) SetHandler(h mesh.Handler) {
	t.mu.Lock()
	t.handler = h
	first := h != nil && t.handlerSet != nil
	gate := t.handlerSet
	if first {
		t.handlerSet = nil
	}
	t.mu.Unlock()
	if first {
		close(gate)
	}
}

// Friends implements mesh.Transport: every Tox friend that is not known
// to be a plain client.
func (t *Transport) Friends() []mesh.Friend {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]mesh.Friend, 0, len(t.byKey))
	for _, f := range t.byKey {
		if f.kind != PeerPlain {
			out = append(out, mesh.Friend{Key: f.pk, Online: f.online()})
		}
	}
	return out
}

// ErrFrameTooLarge is returned by Send for a frame over MaxFrame.
var ErrFrameTooLarge = errors.New("tox: mesh frame too large")

// Send implements mesh.Transport: it queues frame for the friend and wakes
// the Tox goroutine, which pumps it out in chunks.
func (t *Transport) Send(to mesh.FriendKey, frame []byte) error {
	if len(frame) == 0 || len(frame) > t.cfg.MaxFrame {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(frame), t.cfg.MaxFrame)
	}
	t.mu.Lock()
	f := t.byKey[to]
	switch {
	case f == nil || !f.online():
		t.mu.Unlock()
		return mesh.ErrOffline
	case f.q.bytes > 0 && f.q.bytes+len(frame) > t.cfg.MaxQueue:
		// An empty queue takes any frame within MaxFrame, so a frame
		// larger than MaxQueue goes alone rather than never.
		t.mu.Unlock()
		return fmt.Errorf("%w: %d bytes queued for %s", mesh.ErrBackpressure, f.q.bytes, to.Short())
	}
	f.q.push(frame)
	x := t.tox
	t.mu.Unlock()
	if x != nil {
		x.Wake()
	}
	return nil
}

// pump runs on the Tox goroutine after every iteration: pending actions,
// then each friend's queued packets until libtoxcore's send queue is full,
// then queued text messages, then the plain-client timeouts.
func (t *Transport) pump(c *Core) {
	t.mu.Lock()
	actions := t.actions
	t.actions = nil
	t.mu.Unlock()
	for _, a := range actions {
		a(c)
	}
	if t.testRawSend != nil {
		t.testRawSend(c)
	}

	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.byNum {
		if !f.online() {
			continue
		}
		if f.announce {
			if err := c.SendLossless(f.num, []byte{pktPresent}); err == nil {
				f.announce = false
				t.stats.PacketsOut++
			} else if !errors.Is(err, ErrSendQ) {
				f.announce = false
				t.log.Debug("announcement not sent", "friend", f.pk, "err", err)
			} else {
				t.stats.SendQFull++
				continue // it goes first, at the next pump
			}
		}
		for !f.q.empty() {
			frameLen := len(f.q.frames[0])
			pkt := f.q.next(t.buf)
			err := c.SendLossless(f.num, pkt)
			if err != nil {
				if errors.Is(err, ErrSendQ) {
					t.stats.SendQFull++
				} else {
					t.log.Debug("lossless send failed", "friend", f.pk, "err", err)
				}
				break
			}
			t.stats.PacketsOut++
			if f.q.advance(pkt) {
				t.stats.FramesOut++
				t.stats.BytesOut += uint64(frameLen)
			}
		}
		t.sendTextsLocked(f, c.SendMessage)
		if f.kind == PeerUnknown && now.Sub(f.connectedAt) >= t.cfg.HelloTimeout {
			f.kind = PeerPlain
			t.log.Info("friend is a plain Tox client (no mesh hello)", "friend", f.pk)
			t.events.push(event{kind: evOnline, pk: f.pk, online: false})
		}
	}
}

// sendTextsLocked hands the friend's waiting texts to libtoxcore (send is
// Core.SendMessage) until it reports a temporary error, and keeps each
// one it took until its read receipt. t.mu is held.
func (t *Transport) sendTextsLocked(f *friend, send func(fn uint32, typ MessageType, text string) (uint32, error)) {
	for len(f.texts) > 0 {
		id, err := send(f.num, MessageNormal, f.texts[0])
		if err != nil {
			if mesh.Temporary(err) {
				return // SENDQ or not connected: try again later
			}
			t.stats.TextsDropped++
			t.log.Warn("text message refused; dropped", "friend", f.pk, "err", err)
			f.textBytes -= len(f.texts[0])
		} else {
			t.stats.TextsOut++
			if f.resend > 0 {
				t.stats.TextsResent++
			}
			f.unread = append(f.unread, sentText{id: id, text: f.texts[0]})
		}
		f.resend = max(0, f.resend-1)
		f.texts[0] = ""
		f.texts = f.texts[1:]
	}
}

// onFriendConnection runs on the Tox goroutine.
func (t *Transport) onFriendConnection(num uint32, pk PublicKey, c Connection) {
	t.mu.Lock()
	f := t.addFriendLocked(num, pk)
	was := f.online()
	f.conn = c
	now := f.online()
	var ev *event
	switch {
	case now && !was:
		f.connectedAt = time.Now()
		f.announce = true
		if f.kind == PeerPlain {
			f.kind = PeerUnknown // it may have installed a mesh client since
		}
		ev = &event{kind: evOnline, pk: pk, online: true}
	case !now && was:
		lost := f.q.drop()
		t.stats.FramesLost += uint64(lost)
		if n := f.requeueUnread(); n > 0 {
			t.log.Debug("texts unconfirmed when the friend went offline; sent again when it is back", "friend", f.pk, "texts", n)
		}
		if f.in.reset() {
			t.stats.PartialsLost++
		}
		if f.kind != PeerPlain {
			ev = &event{kind: evOnline, pk: pk, online: false}
		}
	}
	t.mu.Unlock()
	if ev != nil {
		t.events.push(*ev)
	}
}

// onFriendLossless runs on the Tox goroutine.
func (t *Transport) onFriendLossless(num uint32, pk PublicKey, data []byte) {
	present := len(data) == 1 && data[0] == pktPresent
	if !present && !isMeshPacket(data) {
		if t.testRawRecv != nil {
			t.testRawRecv(pk, data)
		}
		return
	}
	t.mu.Lock()
	f := t.addFriendLocked(num, pk)
	t.stats.PacketsIn++
	if f.kind != PeerMesh {
		if f.kind == PeerPlain {
			t.events.push(event{kind: evOnline, pk: pk, online: true})
		}
		f.kind = PeerMesh
	}
	if present {
		t.mu.Unlock()
		return
	}
	frame, err := f.in.add(data)
	if err != nil {
		t.stats.BadChunks++
		t.log.Debug("bad mesh chunk", "friend", pk, "err", err)
	}
	if frame != nil {
		t.stats.FramesIn++
		t.stats.BytesIn += uint64(len(frame))
		if !t.events.push(event{kind: evFrame, pk: pk, frame: frame}) && !t.events.isClosed() {
			t.stats.InboundDropped++
			t.noteInboundDrop("mesh frame", pk)
		}
	}
	t.mu.Unlock()
}

// onFriendReadReceipt runs on the Tox goroutine.
func (t *Transport) onFriendReadReceipt(num uint32, pk PublicKey, id uint32) {
	t.mu.Lock()
	if t.addFriendLocked(num, pk).confirm(id) {
		t.stats.TextsConfirmed++
	}
	t.mu.Unlock()
}

func (t *Transport) onFriendName(num uint32, pk PublicKey, name string) {
	t.mu.Lock()
	t.addFriendLocked(num, pk).name = name
	t.mu.Unlock()
}

func (t *Transport) onFriendMessage(num uint32, pk PublicKey, typ MessageType, text string) {
	t.mu.Lock()
	f := t.addFriendLocked(num, pk)
	t.stats.TextsIn++
	name := f.name
	if !t.events.push(event{kind: evText, pk: pk, name: name, text: text}) && !t.events.isClosed() {
		t.stats.TextsDropped++
		t.noteInboundDrop("text message", pk)
	}
	t.mu.Unlock()
}

// dropLogEvery is the least time between two logs of inbound drops.
const dropLogEvery = time.Minute

// noteInboundDrop logs, at most once a minute, that something received was
// dropped because the mesh is behind (MaxInbound): a text message is then
// lost (its sender's client showed it delivered), an envelope body is
// asked for again. t.mu is held.
func (t *Transport) noteInboundDrop(what string, from PublicKey) {
	t.dropsSince++
	now := time.Now()
	if now.Sub(t.dropsLogged) < dropLogEvery {
		return
	}
	t.log.Warn("received data dropped: the mesh is behind and the inbound queue is full",
		"last", what, "friend", from, "dropped_since_last_log", t.dropsSince)
	t.dropsLogged, t.dropsSince = now, 0
}

// dispatch hands events to the mesh and the text handler, in order.
func (t *Transport) dispatch() {
	defer close(t.done)
	for {
		ev, ok := t.events.pop()
		if !ok {
			return
		}
		t.mu.Lock()
		gate := t.handlerSet
		t.mu.Unlock()
		if gate != nil && (ev.kind == evFrame || ev.kind == evOnline) {
			select { // hold mesh events until the mesh is listening
			case <-gate:
			case <-t.events.closedCh():
				return
			}
		}
		t.mu.Lock()
		h := t.handler
		t.mu.Unlock()
		switch ev.kind {
		case evFrame:
			if h != nil {
				h.HandleFrame(ev.pk, ev.frame)
			}
		case evOnline:
			if h != nil {
				h.HandleOnline(ev.pk, ev.online)
			}
		case evText:
			if t.cfg.OnText != nil {
				t.cfg.OnText(ev.pk, ev.name, ev.text)
			}
		case evRequest:
			if t.cfg.OnRequest != nil {
				t.cfg.OnRequest(ev.req)
			}
		case evFriendRequest:
			t.decideRequest(ev.pk, ev.text)
		}
	}
}

// PeerInfo describes a Tox friend as the transport sees it.
type PeerInfo struct {
	Key        PublicKey
	Name       string
	Connection Connection
	Kind       PeerKind
	Queued     int // bytes waiting to be sent
}

// Peers lists every Tox friend.
func (t *Transport) Peers() []PeerInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PeerInfo, 0, len(t.byKey))
	for _, f := range t.byKey {
		out = append(out, PeerInfo{Key: f.pk, Name: f.name, Connection: f.conn, Kind: f.kind, Queued: f.q.bytes})
	}
	return out
}

// IsFriend reports whether pk is a Tox friend now, from the transport's
// own list: no call into libtoxcore, so any goroutine may ask.
func (t *Transport) IsFriend(pk PublicKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byKey[pk] != nil
}

// Kind returns what kind of peer a friend is.
func (t *Transport) Kind(pk PublicKey) PeerKind {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.byKey[pk]; f != nil {
		return f.kind
	}
	return PeerUnknown
}

// Stats returns the transport's counters.
func (t *Transport) Stats() TransportStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// do queues an action for the Tox goroutine and wakes it.
func (t *Transport) do(a func(*Core)) {
	t.mu.Lock()
	t.actions = append(t.actions, a)
	x := t.tox
	t.mu.Unlock()
	if x != nil {
		x.Wake()
	}
}
