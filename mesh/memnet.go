package mesh

import (
	"sync"
	"time"
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
}

// MemNetwork is an in-memory network of nodes for tests and the simulator.
// Friendships are links; each node can be switched online and offline; a
// frame is lost if its link goes down before it arrives. All delays run on
// the network's Clock, so with a VirtualClock everything is deterministic.
type MemNetwork struct {
	mu    sync.Mutex
	clock Clock
	cfg   MemConfig
	nodes map[FriendKey]*MemTransport
	stats MemStats
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
	return &MemNetwork{clock: clock, cfg: cfg, nodes: make(map[FriendKey]*MemTransport)}
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
		t = &MemTransport{net: n, key: key, links: make(map[FriendKey]*memLink)}
		n.nodes[key] = t
	}
	return t
}

// memLink is one direction of a friendship: from owner to peer.
type memLink struct {
	peer    *MemTransport
	up      bool
	epoch   uint64    // bumped whenever the connection goes down
	busy    time.Time // when the last queued frame finishes serialising
	queue   []memFrame
	pumping bool
}

type memFrame struct {
	at    time.Time
	data  []byte
	epoch uint64
}

// Befriend makes a and b friends. If both are online the connection comes
// up after ConnectDelay.
func (n *MemNetwork) Befriend(a, b FriendKey) {
	n.mu.Lock()
	ta, tb := n.transportLocked(a), n.transportLocked(b)
	if ta.links[b] == nil {
		ta.links[b] = &memLink{peer: tb}
		tb.links[a] = &memLink{peer: ta}
	}
	ta.order = appendUnique(ta.order, b)
	tb.order = appendUnique(tb.order, a)
	n.scheduleConnectLocked(ta, tb)
	n.mu.Unlock()
}

func appendUnique(s []FriendKey, k FriendKey) []FriendKey {
	for _, x := range s {
		if x == k {
			return s
		}
	}
	return append(s, k)
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
	var notes []note
	if online {
		for _, k := range t.order {
			n.scheduleConnectLocked(t, t.links[k].peer)
		}
	} else {
		for _, k := range t.order {
			l := t.links[k]
			if l.up {
				notes = append(notes, n.downLocked(t, l.peer)...)
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

func (n *MemNetwork) downLocked(a, b *MemTransport) []note {
	ab, ba := a.links[b.key], b.links[a.key]
	ab.up, ba.up = false, false
	ab.epoch++
	ba.epoch++
	return []note{{a.handler, b.key, false}, {b.handler, a.key, false}}
}

func (n *MemNetwork) scheduleConnectLocked(a, b *MemTransport) {
	if !a.online || !b.online || a.links[b.key].up {
		return
	}
	ga, gb := a.gen, b.gen
	n.clock.AfterFunc(n.cfg.ConnectDelay, func() {
		n.mu.Lock()
		if !a.online || !b.online || a.gen != ga || b.gen != gb || a.links[b.key].up {
			n.mu.Unlock()
			return
		}
		a.links[b.key].up, b.links[a.key].up = true, true
		n.stats.Connects++
		notes := []note{{a.handler, b.key, true}, {b.handler, a.key, true}}
		n.mu.Unlock()
		deliverNotes(notes)
	})
}

// MemTransport is one node's Transport on a MemNetwork.
type MemTransport struct {
	net     *MemNetwork
	key     FriendKey
	online  bool
	gen     uint64
	handler Handler
	links   map[FriendKey]*memLink
	order   []FriendKey // friends in befriending order, for determinism
}

var _ Transport = (*MemTransport)(nil)

// Key returns the node's key.
func (t *MemTransport) Key() FriendKey { return t.key }

// Friends implements Transport.
func (t *MemTransport) Friends() []Friend {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	out := make([]Friend, 0, len(t.order))
	for _, k := range t.order {
		out = append(out, Friend{Key: k, Online: t.links[k].up})
	}
	return out
}

// SetHandler implements Transport.
func (t *MemTransport) SetHandler(h Handler) {
	t.net.mu.Lock()
	t.handler = h
	t.net.mu.Unlock()
}

// Send implements Transport: the frame arrives after the link's queue,
// its serialisation time and the latency, unless the link goes down first.
func (t *MemTransport) Send(to FriendKey, frame []byte) error {
	n := t.net
	n.mu.Lock()
	defer n.mu.Unlock()
	l := t.links[to]
	if l == nil || !l.up {
		n.stats.Refused++
		return ErrOffline
	}
	now := n.clock.Now()
	start := l.busy
	if start.Before(now) {
		start = now
	}
	if n.cfg.Bandwidth > 0 {
		start = start.Add(time.Duration(float64(len(frame)) / n.cfg.Bandwidth * float64(time.Second)))
	}
	l.busy = start
	l.queue = append(l.queue, memFrame{at: start.Add(n.cfg.Latency), data: frame, epoch: l.epoch})
	n.stats.Transfers++
	if !l.pumping {
		l.pumping = true
		n.clock.AfterFunc(l.queue[0].at.Sub(now), func() { n.pump(t, l) })
	}
	return nil
}

// pump delivers the frames of one link that are due, in order, and
// reschedules itself for the next.
func (n *MemNetwork) pump(from *MemTransport, l *memLink) {
	for {
		n.mu.Lock()
		if len(l.queue) == 0 {
			l.pumping = false
			n.mu.Unlock()
			return
		}
		now := n.clock.Now()
		f := l.queue[0]
		if f.at.After(now) {
			n.clock.AfterFunc(f.at.Sub(now), func() { n.pump(from, l) })
			n.mu.Unlock()
			return
		}
		l.queue[0] = memFrame{}
		l.queue = l.queue[1:]
		if f.epoch != l.epoch || !l.up {
			n.stats.Lost++
			n.mu.Unlock()
			continue
		}
		n.stats.Frames++
		n.stats.Bytes += uint64(len(f.data))
		h := l.peer.handler
		n.mu.Unlock()
		if h != nil {
			h.HandleFrame(from.key, f.data)
		}
	}
}
