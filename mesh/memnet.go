package mesh

import (
	"slices"
	"sync"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// MemConfig shapes a MemNetwork's links.
type MemConfig struct {
	// Latency is the one-way delay of every frame.
	Latency time.Duration
	// Bandwidth is each directed link's throughput in bytes per second;
	// frames on one link queue behind each other. 0 means unlimited.
	Bandwidth float64
	// ConnectDelay is how long after both ends are online a friend
	// connection comes up (libtoxcore takes about 10 s on loopback).
	ConnectDelay time.Duration
	// ShareEnvelopes makes the transports EnvelopeCarriers: envelope
	// bodies travel as SharedEnvelopes, not copied into frames (they take
	// the same time on the link). The simulator sets it; tests that want
	// the framed path, like a real transport's, leave it off.
	ShareEnvelopes bool
}

// MemNetwork is an in-memory network of nodes for tests and the simulator.
// Friendships are links; each node can be switched online and offline; a
// frame is lost if its link goes down before it arrives. All delays run on
// the network's Clock, so with a VirtualClock everything is deterministic.
//
// It is built to carry a simulated network of a million nodes: a link costs
// 32 bytes while idle, and with a VirtualClock a frame in flight costs one
// queue entry and no allocation of its own. Its transports are FramePools:
// a node builds its frames in buffers that the network takes back once the
// frames are lost or delivered to a handler that borrows them.
type MemNetwork struct {
	mu    sync.Mutex
	clock Clock
	vc    *VirtualClock // clock, when it is virtual
	cfg   MemConfig
	nodes map[FriendKey]*MemTransport
	stats MemStats
	free  []*memQueue // drained queues, for reuse
	bufs  framePool   // frame buffers, for reuse
}

// MemStats counts what crossed a MemNetwork.
type MemStats struct {
	Frames    uint64 // frames delivered
	Bytes     uint64 // bytes delivered
	Lost      uint64 // frames lost to a link going down
	Refused   uint64 // Send calls refused because the link was down
	Connects  uint64 // friend connections brought up
	Transfers uint64 // frames sent (delivered + lost + in flight)
}

// NewMemNetwork returns an empty network on clock.
func NewMemNetwork(clock Clock, cfg MemConfig) *MemNetwork {
	vc, _ := clock.(*VirtualClock)
	return &MemNetwork{clock: clock, vc: vc, cfg: cfg, nodes: make(map[FriendKey]*MemTransport)}
}

// Stats returns the network's counters.
func (n *MemNetwork) Stats() MemStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Transport returns the transport of node key, creating it (offline, with
// no friends) on first use.
func (n *MemNetwork) Transport(key FriendKey) *MemTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.transportLocked(key)
}

func (n *MemNetwork) transportLocked(key FriendKey) *MemTransport {
	t := n.nodes[key]
	if t == nil {
		t = &MemTransport{net: n, key: key}
		n.nodes[key] = t
	}
	return t
}

// Grow makes room for n more friends of key, so that building a large
// network does not leave every node's link list half empty.
func (n *MemNetwork) Grow(key FriendKey, more int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.transportLocked(key)
	if more > 0 {
		t.links = slices.Grow(t.links, more)
		t.index.grow(more)
	}
}

// memLink is one direction of a friendship: from its owner to peer. While
// no frame is in flight it is 24 bytes, and 8 more in the owner's index.
type memLink struct {
	peer *MemTransport // the other end
	q    *memQueue     // frames in flight; nil when none
	rev  int32         // index of the link back, in peer.links
	up   bool          // the friend connection is up
}

// back returns the other direction of a's link i.
func (a *MemTransport) back(i int) *memLink {
	l := &a.links[i]
	return &l.peer.links[l.rev]
}

// memQueue holds the frames in flight on one link, in order, and the event
// that delivers the first of them.
type memQueue struct {
	net     *MemNetwork
	from    *MemTransport
	link    int   // index of the link in from.links
	busy    int64 // Unix ns when the last queued frame finishes serialising
	frames  []memFrame
	head    int    // frames[head:] are in flight
	pumping bool   // a delivery is scheduled or running
	ev      vevent // the delivery event, with a VirtualClock
}

type memFrame struct {
	at     int64  // arrival, Unix ns
	data   []byte // the frame, or a shared envelope's bytes
	shared bool   // data is a SharedEnvelope's: id and hops go with it
	hops   uint8
	id     envelope.ID
}

// Befriend makes a and b friends. If both are online the connection comes
// up after ConnectDelay.
func (n *MemNetwork) Befriend(a, b FriendKey) {
	n.mu.Lock()
	ta, tb := n.transportLocked(a), n.transportLocked(b)
	if ta.find(&b) < 0 {
		ta.addLink(tb, len(tb.links))
		tb.addLink(ta, len(ta.links)-1)
	}
	n.scheduleConnectLocked(ta, tb)
	n.mu.Unlock()
}

// SetOnline switches a node on or off. Going offline drops its friend
// connections at once (frames in flight are lost); coming online brings each
// connection to an online friend up after ConnectDelay.
func (n *MemNetwork) SetOnline(key FriendKey, online bool) {
	n.mu.Lock()
	t := n.transportLocked(key)
	if t.online == online {
		n.mu.Unlock()
		return
	}
	t.online = online
	t.gen++
	var buf [noteBuf]note
	notes := buf[:0]
	if online {
		t.since = n.nowLocked()
		gen := t.gen
		n.clock.AfterFunc(n.cfg.ConnectDelay, func() { n.connectAll(t, gen) })
	} else {
		for i := range t.links {
			if t.links[i].up {
				notes = n.downLocked(t, i, notes)
			}
		}
	}
	n.mu.Unlock()
	deliverNotes(notes)
}

// Online reports whether a node is online.
func (n *MemNetwork) Online(key FriendKey) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.nodes[key]
	return t != nil && t.online
}

// noteBuf is how many notes a switch gathers without allocating: those
// of 32 friends.
const noteBuf = 64

type note struct {
	h      Handler
	friend FriendKey
	online bool
}

func deliverNotes(ns []note) {
	for _, x := range ns {
		if x.h != nil {
			x.h.HandleOnline(x.friend, x.online)
		}
	}
}

// downLocked takes the connection of a's link i down in both directions;
// the frames in flight either way are lost. It appends the notes of the
// change to notes.
func (n *MemNetwork) downLocked(a *MemTransport, i int, notes []note) []note {
	b := a.links[i].peer
	for _, l := range [2]*memLink{&a.links[i], a.back(i)} {
		l.up = false
		if q := l.q; q != nil {
			n.dropLocked(l, q)
		}
	}
	return append(notes, note{a.handler, b.key, false}, note{b.handler, a.key, false})
}

// upLocked brings the connection of a's link i up in both directions.
func (n *MemNetwork) upLocked(a *MemTransport, i int, notes []note) []note {
	b := a.links[i].peer
	a.links[i].up = true
	a.back(i).up = true
	n.stats.Connects++
	return append(notes, note{a.handler, b.key, true}, note{b.handler, a.key, true})
}

// connectAll brings up, ConnectDelay after t came online (session gen),
// its connections to the friends that were online then and still are.
// Friends that came online later connect through their own connectAll.
func (n *MemNetwork) connectAll(t *MemTransport, gen uint64) {
	n.mu.Lock()
	var buf [noteBuf]note
	notes := buf[:0]
	if t.online && t.gen == gen {
		for i := range t.links {
			p := t.links[i].peer
			if !t.links[i].up && p.online && p.since <= t.since {
				notes = n.upLocked(t, i, notes)
			}
		}
	}
	n.mu.Unlock()
	deliverNotes(notes)
}

// scheduleConnectLocked connects two new friends that are both online.
func (n *MemNetwork) scheduleConnectLocked(a, b *MemTransport) {
	if !a.online || !b.online {
		return
	}
	ga, gb := a.gen, b.gen
	n.clock.AfterFunc(n.cfg.ConnectDelay, func() {
		n.mu.Lock()
		var buf [2]note
		notes := buf[:0]
		if a.online && b.online && a.gen == ga && b.gen == gb {
			if i := a.find(&b.key); i >= 0 && !a.links[i].up {
				notes = n.upLocked(a, i, notes)
			}
		}
		n.mu.Unlock()
		deliverNotes(notes)
	})
}

func (n *MemNetwork) nowLocked() int64 {
	if n.vc != nil {
		return n.vc.Now().UnixNano()
	}
	return n.clock.Now().UnixNano()
}

// MemTransport is one node's Transport on a MemNetwork.
type MemTransport struct {
	net     *MemNetwork
	key     FriendKey
	online  bool
	since   int64  // Unix ns it last came online
	gen     uint64 // bumped on every switch on or off
	handler Handler
	links   []memLink // in befriending order
	index   keyIndex  // finds links by key
}

var (
	_ Transport       = (*MemTransport)(nil)
	_ EnvelopeCarrier = (*MemTransport)(nil)
	_ FramePool       = (*MemTransport)(nil)
)

// find returns the index of the link to key, or -1.
func (t *MemTransport) find(key *FriendKey) int {
	return t.index.find(keyPrefix(key), func(i int) bool { return t.links[i].peer.key == *key })
}

// addLink adds a link to peer, whose link back is peer.links[rev].
func (t *MemTransport) addLink(peer *MemTransport, rev int) {
	t.links = append(t.links, memLink{peer: peer, rev: int32(rev)})
	t.index.add(keyPrefix(&peer.key))
}

// Key returns the node's key.
func (t *MemTransport) Key() FriendKey { return t.key }

// Friends implements Transport.
func (t *MemTransport) Friends() []Friend {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	out := make([]Friend, 0, len(t.links))
	for i := range t.links {
		out = append(out, Friend{Key: t.links[i].peer.key, Online: t.links[i].up})
	}
	return out
}

// SetHandler implements Transport.
func (t *MemTransport) SetHandler(h Handler) {
	t.net.mu.Lock()
	t.handler = h
	t.net.mu.Unlock()
}

// FrameBuffer implements FramePool.
func (t *MemTransport) FrameBuffer(n int) []byte {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	return t.net.bufs.get(n)
}

// Send implements Transport: the frame arrives after the link's queue,
// its serialisation time and the latency, unless the link goes down first.
// Once the frame is lost, or delivered to a FrameBorrower that borrows it,
// the network may reuse its buffer.
func (t *MemTransport) Send(to FriendKey, frame []byte) error {
	return t.send(to, memFrame{data: frame}, len(frame))
}

// SendEnvelope implements EnvelopeCarrier. Unless the network shares
// envelopes, it frames env like any transport would.
func (t *MemTransport) SendEnvelope(to FriendKey, env SharedEnvelope, hops uint8) error {
	if !t.net.cfg.ShareEnvelopes {
		return t.Send(to, encodeEnvelope(env.Bytes, hops))
	}
	return t.send(to, memFrame{data: env.Bytes, shared: true, hops: hops, id: env.ID}, 2+len(env.Bytes))
}

// send queues f, of size bytes on the wire, on the link to to.
func (t *MemTransport) send(to FriendKey, f memFrame, size int) error {
	n := t.net
	n.mu.Lock()
	defer n.mu.Unlock()
	i := t.find(&to)
	if i < 0 || !t.links[i].up {
		n.stats.Refused++
		return ErrOffline
	}
	l := &t.links[i]
	now := n.nowLocked()
	q := l.q
	if q == nil {
		q = n.queue(t, i)
		l.q = q
	}
	start := max(q.busy, now)
	if n.cfg.Bandwidth > 0 {
		start += int64(float64(size) / n.cfg.Bandwidth * float64(time.Second))
	}
	q.busy = start
	at := start + int64(n.cfg.Latency)
	f.at = at
	q.frames = append(q.frames, f)
	n.stats.Transfers++
	if !q.pumping {
		q.pumping = true
		n.wakeAt(q, at, now)
	}
	return nil
}

// queue returns an empty queue for link i of from.
func (n *MemNetwork) queue(from *MemTransport, i int) *memQueue {
	var q *memQueue
	if k := len(n.free); k > 0 {
		q = n.free[k-1]
		n.free[k-1] = nil
		n.free = n.free[:k-1]
	} else {
		q = &memQueue{net: n}
		q.ev = vevent{fire: q, clock: n.vc}
	}
	q.from, q.link, q.busy = from, i, 0
	return q
}

// reset drops every frame in flight.
func (q *memQueue) reset() {
	for _, f := range q.frames[q.head:] {
		q.net.release(f)
	}
	clear(q.frames)
	q.frames, q.head = q.frames[:0], 0
}

// dropLocked loses the frames in flight on link l, whose queue is q: the
// link went down. With a VirtualClock the queue goes back to the free list
// at once (its pending delivery is cancelled), so a link that comes back
// starts idle; otherwise the pending delivery finds it empty.
func (n *MemNetwork) dropLocked(l *memLink, q *memQueue) {
	n.stats.Lost += uint64(len(q.frames) - q.head)
	q.reset()
	if n.vc != nil && q.ev.Stop() {
		q.pumping, q.busy = false, 0
		l.q, q.from = nil, nil
		n.free = append(n.free, q)
	}
}

// wakeAt schedules q's delivery at Unix ns at.
func (n *MemNetwork) wakeAt(q *memQueue, at, now int64) {
	if n.vc != nil {
		n.vc.schedule(&q.ev, at)
		return
	}
	n.clock.AfterFunc(time.Duration(at-now), q.fire)
}

// fire delivers the frames of q that are due, in order, and schedules
// itself for the next one; a drained queue goes back to the free list.
func (q *memQueue) fire() {
	n := q.net
	var done memFrame // the frame just handled, if its buffer may be reused
	for {
		n.mu.Lock()
		n.release(done)
		done = memFrame{}
		l := &q.from.links[q.link]
		if q.head == len(q.frames) {
			q.reset()
			q.pumping = false
			l.q, q.from = nil, nil
			n.free = append(n.free, q)
			n.mu.Unlock()
			return
		}
		now := n.nowLocked()
		f := q.frames[q.head]
		if f.at > now {
			n.wakeAt(q, f.at, now)
			n.mu.Unlock()
			return
		}
		q.frames[q.head] = memFrame{}
		q.head++
		if !l.up {
			n.stats.Lost++
			n.release(f)
			n.mu.Unlock()
			continue
		}
		n.stats.Frames++
		n.stats.Bytes += uint64(len(f.data))
		if f.shared {
			n.stats.Bytes += 2 // as the frame would have been
		}
		h, from := l.peer.handler, q.from.key
		n.mu.Unlock()
		switch {
		case !f.shared:
			// A frame with no handler, or one its handler borrows, is
			// the network's again once the handler returns.
			if b, ok := h.(FrameBorrower); h == nil || ok && b.BorrowsFrame(f.data) {
				done = f
			}
			if h != nil {
				h.HandleFrame(from, f.data)
			}
		case h != nil:
			if eh, ok := h.(EnvelopeHandler); ok {
				eh.HandleEnvelope(from, SharedEnvelope{ID: f.id, Bytes: f.data}, f.hops)
			} else {
				h.HandleFrame(from, encodeEnvelope(f.data, f.hops))
			}
		}
	}
}

// release takes back the buffer of a frame the network is done with; n.mu
// is held. Shared envelopes' bytes belong to their nodes.
func (n *MemNetwork) release(f memFrame) {
	if !f.shared && f.data != nil {
		n.bufs.put(f.data)
	}
}
