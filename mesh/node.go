package mesh

import (
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/internal/loglimit"
)

// Mailbox receives the mail opened by a node. Deliver must be durable
// before it returns and idempotent per envelope ID: the mesh may call it
// again for the same ID after a crash. An error for which Temporary is true
// makes the node retry after Config.DeliverRetry, then at doubling
// intervals up to an hour, or when Node.RetryDeliveries is called; any
// other error drops the envelope (it is not acknowledged).
type Mailbox interface {
	Deliver(d *Delivery) error
}

// Delivery is one opened mail handed to the Mailbox.
type Delivery struct {
	Letter   *envelope.Letter
	From     FriendKey // the friend that handed it over; zero for mail to oneself
	Received time.Time
}

// Deps are what a node is wired to.
type Deps struct {
	Identity  envelope.KeyPair // the node's long-term (Tox) key pair
	Transport Transport
	Store     Store
	Mailbox   Mailbox      // nil: mail for this node is acknowledged and dropped
	Clock     Clock        // nil: RealClock
	Logger    *slog.Logger // nil: discard
	// Keyring overrides the keyring built from Identity (to share its
	// shared-key cache); optional.
	Keyring *envelope.Keyring
}

// Node is the gossip engine of one toxmail node. It floods envelopes to
// friends with a hop limit, holds what it cannot open, hands envelopes over
// when friends come online, delivers its own mail to the Mailbox and floods
// acks back. It knows nothing of Tox: the Transport carries its frames.
//
// All methods are safe for concurrent use; one mutex serialises the node's
// state, and the Transport must never call back into the node from Send.
type Node struct {
	cfg   Config
	deps  Deps
	keys  *envelope.Keyring
	clock Clock
	log   *slog.Logger

	carrier EnvelopeCarrier // the Transport, if it can carry shared envelopes
	pool    FramePool       // the Transport, if it lends frame buffers

	mu      sync.Mutex
	started bool
	closed  bool
	// warn spaces out the warnings a friend can provoke at will; made at
	// the first (warnings).
	warn *nodeWarnings
	// noRoom are envelopes turned away for budget, by ID, with when an
	// offer of them may be taken up again (Unix seconds); see noteNoRoom.
	noRoom map[envelope.ID]int64
	// evicted are relay copies evicted for budget, kept for their acks
	// (see rememberEvicted); empty until the first eviction.
	evicted evictedCopies
	// waitingFor counts the request records waiting for each friend, by
	// index (see inflight.waiting): a map, since they are rare, rather
	// than a field every friend of every simulated node would carry.
	waitingFor map[int32]int32

	peers      []*peer
	byKey      keyIndex // finds peers by key
	dirty      []*peer
	offersDue  time.Time // earliest offerDue among dirty peers; zero if none
	backlogDue time.Time // earliest backlogDue among dirty peers; zero if none
	acksQueued bool      // some dirty peer has acks queued
	now        time.Time // the clock's time for the event being handled

	// ids is the node's state per envelope ID: held copy, remembered ack,
	// outstanding request. One map, so the relay path does one look-up.
	ids      recordMap
	nHeld    int
	relay    heldHeap // relay copies by expiry: swept and evicted
	own      heldHeap // own mail by expiry: swept, never evicted
	heldSize int64    // bytes held, own mail included
	heldSeq  uint64   // last heldEntry.seq

	nAcks    int
	ackHeap  ackHeap
	ackFirst int64 // expiry of ackHeap.items[0], when there is one

	outbox map[envelope.ID]*OutboxEntry

	nInflight     int
	inflightQueue []*inflight // by deadline (RequestTimeout is constant)

	resets     []*peer // friends whose session reset waits (see onHello)
	retry      map[envelope.ID]*retryDelivery
	retryBytes int // bytes of the envelopes in retry
	seen       *simplelru.LRU[envelope.ID, struct{}]
	myTag      envelope.Tag
	myEpoch    uint64
	myTagOK    bool
	seq        uint32
	session    uint32 // ours, sent in hello
	timer      Timer  // the node's one timer, made on first use and Reset after
	timerAt    int64  // when it is armed for, Unix nanoseconds
	timerArmed bool
	lastSweep  time.Time

	batch   Batch
	scratch struct {
		offers []offerItem
		ids    []envelope.ID
		acks   []envelope.Ack
		first  []*heldEntry // handOver's
		rest   []*heldEntry
		pushes []*ackEntry
	}
	stats Stats
	// tooLarge counts offers larger than MaxEnvelopeSize since the node
	// last said so (noteTooLarge).
	tooLarge struct {
		offers, largest int
		said            time.Time
	}
}

// record is what the node knows of one envelope ID beyond the seen set;
// any field may be nil.
type record struct {
	id   envelope.ID
	held *heldEntry // a copy the node holds
	ack  *ackEntry  // a verified ack it remembers
	in   *inflight  // a request awaiting the body
}

// inflight is an envelope requested and not yet received.
type inflight struct {
	id       envelope.ID
	from     *peer          // the friend asked
	offerers friendSet      // every friend that offered it
	tried    friendSet      // friends already asked
	ackers   friendSet      // friends that sent the ack instead: they no longer hold it
	tries    int            // requests sent in all
	expiry   int64          // the envelope's expiry (Unix seconds), as first offered
	maxHops  uint8          // the most hops any offer promised
	minHops  uint8          // the fewest: an offerer that may take our copy's hops
	acks     []envelope.Ack // acks that arrived first (one per friend, maxEarlyAcks), checked when the body does
	deadline time.Time
	done     bool
	// waiting is set when no request is out: every friend left to ask
	// was at its request limit. The record keeps the ID from being asked
	// of anyone else meanwhile, and at its deadline looks again for a
	// friend with room (from first). It counts towards Node.waitingFor, not
	// from.inflight nor the node's nInflight: it asks nothing of anyone,
	// and counted there, a friend forging acks for what it had offered
	// turned its requests into waiting records for a friend that never
	// answers, and two such friends filled MaxInflight.
	waiting bool
}

// maxEarlyAcks bounds the acks an envelope being fetched keeps until its
// body comes. Each friend's first counts, so a forged one cannot shadow
// the genuine ack another friend sends.
const maxEarlyAcks = 4

// maxTries bounds the requests for one envelope before the node waits for
// the next offer of it.
const maxTries = 4

// retryDelivery is a delivery the mailbox refused for now (Node.retry).
type retryDelivery struct {
	env     []byte // the envelope, or nil: ask from for it again
	size    int    // the letter's body length: the least the mailbox stores
	from    FriendKey
	hops    uint8
	expiry  int64
	at      time.Time     // when to try again
	wait    time.Duration // the wait before at
	asked   int           // requests sent for it, kept by ID
	askedAt time.Time     // when the last was sent
	turn    int           // the next friend to ask, an index into Node.peers
}

// NewNode checks cfg and deps and returns a node that does nothing until
// Start.
func NewNode(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Transport == nil || deps.Store == nil {
		return nil, errors.New("mesh: NewNode needs a Transport and a Store")
	}
	if deps.Identity.Public.IsZero() {
		return nil, errors.New("mesh: NewNode needs an Identity")
	}
	n := &Node{
		cfg:   cfg,
		deps:  deps,
		keys:  deps.Keyring,
		clock: deps.Clock,
		log:   deps.Logger,
		relay: newHeldHeap(heapNode),
		own:   newHeldHeap(heapNode),
	}
	n.carrier, _ = deps.Transport.(EnvelopeCarrier)
	n.pool, _ = deps.Transport.(FramePool)
	if n.keys == nil {
		n.keys = envelope.NewKeyring(envelope.Config{Identity: deps.Identity})
	}
	if n.keys.PublicKey() != deps.Identity.Public {
		return nil, errors.New("mesh: Keyring and Identity disagree")
	}
	if n.clock == nil {
		n.clock = RealClock{}
	}
	if n.log == nil {
		n.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.DedupeSize > 0 {
		lru, err := simplelru.NewLRU[envelope.ID, struct{}](cfg.DedupeSize, nil)
		if err != nil {
			return nil, fmt.Errorf("mesh: dedupe cache: %w", err)
		}
		n.seen = lru
	}
	return n, nil
}

// Key returns the node's public key.
func (n *Node) Key() FriendKey { return n.deps.Identity.Public }

// Config returns the node's configuration.
func (n *Node) Config() Config { return n.cfg }

// Start loads the node's state from its store, registers with the
// transport and greets the friends that are online.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("mesh: node already started")
	}
	now := n.clock.Now()
	n.now = now
	var metas []HeldMeta
	var ackRecs []AckRecord
	err := n.deps.Store.Load(
		func(m HeldMeta) error { metas = append(metas, m); return nil },
		func(a AckRecord) error { ackRecs = append(ackRecs, a); return nil },
		func(o OutboxEntry) error { n.putOutbox(&o); return nil })
	if err != nil {
		return fmt.Errorf("mesh: loading store: %w", err)
	}
	// Index in a fixed order so that a restarted node behaves the same
	// whatever order the store lists things in.
	sort.Slice(metas, func(i, j int) bool { return string(metas[i].ID[:]) < string(metas[j].ID[:]) })
	sort.Slice(ackRecs, func(i, j int) bool { return string(ackRecs[i].Ack.ID[:]) < string(ackRecs[j].Ack.ID[:]) })
	own := 0
	for _, m := range metas {
		e := &heldEntry{meta: m, loaded: true}
		if m.Own {
			own++
		} else {
			e.from = n.peer(m.From)
		}
		n.index(e)
	}
	for _, a := range ackRecs {
		n.addAck(a)
	}
	relay, acks := len(metas)-own, len(ackRecs)
	n.started = true
	sum := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte("toxmail/session"), n.Key().String()...), uint64(now.UnixNano())))
	n.session = binary.BigEndian.Uint32(sum[:])
	n.lastSweep = now
	n.log.Info("mesh node started", "key", n.Key(), "own", own, "relay", relay, "acks", acks, "outbox", len(n.outbox))
	n.deps.Transport.SetHandler(n)
	// A friend gets its state when it is first seen online: in a large
	// network most friends of a node are never online when it is.
	for _, f := range n.deps.Transport.Friends() {
		if f.Online {
			if p := n.peer(f.Key); !p.online {
				n.connected(p)
			}
		}
	}
	n.sweep(now)
	n.expireOutbox(now.Unix(), int64(n.cfg.OutboxRetention/time.Second))
	n.flush(now)
	n.arm(now)
	return nil
}

// Close stops the node: no more frames are handled or sent and its timer is
// stopped. It does not close the Store or the Transport, which the caller
// owns.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
	return nil
}

// lookup returns the state for a friend, or nil if it has never been
// online.
func (n *Node) lookup(k FriendKey) *peer {
	if i := n.byKey.find(keyPrefix(&k), func(i int) bool { return n.peers[i].key == k }); i >= 0 {
		return n.peers[i]
	}
	return nil
}

// peer returns the state for a friend, creating it on first sight.
func (n *Node) peer(k FriendKey) *peer {
	if p := n.lookup(k); p != nil {
		return p
	}
	p := &peer{key: k, idx: int32(len(n.peers))}
	n.peers = append(n.peers, p)
	n.byKey.add(keyPrefix(&k))
	n.ackHeap.reopen()
	return p
}

// index adds a held entry to the in-memory index.
func (n *Node) index(e *heldEntry) {
	e.pos = [2]int32{-1, -1}
	e.gone = false
	if e.seq == 0 {
		n.heldSeq++
		e.seq = n.heldSeq
	}
	if e.since == 0 {
		now := n.now
		if now.IsZero() {
			now = n.clock.Now()
		}
		e.since = now.Unix()
	}
	n.recFor(e.meta.ID).held = e
	n.nHeld++
	n.heldSize += int64(e.meta.Size)
	n.stats.PeakHeldBytes = max(n.stats.PeakHeldBytes, n.heldSize)
	n.heldHeapOf(e).add(e)
	if !e.meta.Own && e.from != nil {
		if e.from.heap == nil {
			e.from.heap = &heldHeap{which: heapPeer}
		}
		e.from.heap.add(e)
		e.from.heldBytes += int64(e.meta.Size)
	}
}

// unindex removes a held entry from the in-memory index. While held, the
// held map answers "seen?"; afterwards the dedupe LRU does.
func (n *Node) unindex(e *heldEntry) {
	e.gone = true
	if r := n.ids.get(e.meta.ID); r != nil && r.held == e {
		r.held = nil
		n.nHeld--
		n.dropIfEmpty(e.meta.ID, r)
	}
	n.cacheSeen(e.meta.ID)
	n.heldSize -= int64(e.meta.Size)
	n.heldHeapOf(e).remove(e)
	if !e.meta.Own && e.from != nil {
		e.from.heap.remove(e)
		e.from.heldBytes -= int64(e.meta.Size)
	}
}

// heldHeapOf returns the node heap e belongs in: own mail or relay copies.
func (n *Node) heldHeapOf(e *heldEntry) *heldHeap {
	if e.meta.Own {
		return &n.own
	}
	return &n.relay
}

// addAck remembers an ack, to be pushed to every friend (the caller may
// narrow that down).
func (n *Node) addAck(a AckRecord) *ackEntry {
	if old := n.ids.get(a.Ack.ID); (old == nil || old.ack == nil) && n.nAcks >= n.cfg.MaxAcks && n.ackHeap.Len() > 0 {
		n.popAck() // at the cap: forget the ack expiring first
		n.stats.AcksEvicted++
	}
	e := &ackEntry{rec: a, toAll: true}
	r := n.recFor(a.Ack.ID)
	if r.ack == nil {
		n.nAcks++
	}
	r.ack = e
	heap.Push(&n.ackHeap, e)
	n.ackFirst = n.ackHeap.items[0].rec.Expiry
	return e
}

// popAck forgets the ack expiring first.
func (n *Node) popAck() {
	a := heap.Pop(&n.ackHeap).(*ackEntry)
	if n.ackHeap.Len() > 0 {
		n.ackFirst = n.ackHeap.items[0].rec.Expiry
	}
	if r := n.ids.get(a.rec.Ack.ID); r != nil && r.ack == a {
		r.ack = nil
		n.nAcks--
		n.dropIfEmpty(a.rec.Ack.ID, r)
	}
}

// recFor returns the record of id, creating it.
func (n *Node) recFor(id envelope.ID) *record {
	r := n.ids.get(id)
	if r == nil {
		r = &record{id: id}
		n.ids.put(r)
	}
	return r
}

// putOutbox adds or replaces an outbox entry in memory.
func (n *Node) putOutbox(o *OutboxEntry) {
	if n.outbox == nil {
		n.outbox = make(map[envelope.ID]*OutboxEntry)
	}
	n.outbox[o.ID] = o
}

// dropIfEmpty deletes a record that holds nothing any more.
func (n *Node) dropIfEmpty(id envelope.ID, r *record) {
	if r.held == nil && r.ack == nil && r.in == nil {
		n.ids.remove(r)
	}
}

// setInflight records (or, with in nil, clears) the request for id.
func (n *Node) setInflight(id envelope.ID, in *inflight) {
	r := n.ids.get(id)
	if in == nil {
		if r != nil && r.in != nil {
			if !r.in.waiting {
				n.nInflight--
			}
			r.in = nil
			n.dropIfEmpty(id, r)
		}
		return
	}
	if r == nil {
		r = n.recFor(id)
	}
	if r.in != nil && !r.in.waiting {
		n.nInflight--
	}
	if !in.waiting {
		n.nInflight++
	}
	r.in = in
}

// nodeWarnings are the warnings a friend can provoke at will, each logged
// once a minute at most.
type nodeWarnings struct {
	forgedAck, openFailure, evictedHash loglimit.Limit
}

// warnings returns the node's warning limits, made at the first call.
func (n *Node) warnings() *nodeWarnings {
	if n.warn == nil {
		n.warn = &nodeWarnings{}
	}
	return n.warn
}

// cacheSeen puts id in the dedupe LRU, if there is one.
func (n *Node) cacheSeen(id envelope.ID) {
	if n.seen != nil {
		n.seen.Add(id, struct{}{})
	}
}

// isSeen reports whether the node has seen id: the LRU first, then the
// store's persistent seen set.
func (n *Node) isSeen(id envelope.ID) bool {
	seen, err := n.seenErr(id)
	return seen || err != nil // on a store failure, refuse rather than risk a double delivery
}

// mine reports whether a header carries this node's tag.
func (n *Node) mine(h *envelope.Header) bool {
	e := envelope.Epoch(h.Expiry)
	if !n.myTagOK || n.myEpoch != e {
		n.myTag, n.myEpoch, n.myTagOK = envelope.MakeTag(n.Key(), e), e, true
	}
	return n.myTag == h.Tag
}

// apply writes the node's pending batch to the store and resets it.
func (n *Node) apply() error {
	if n.batch.Len() == 0 {
		return nil
	}
	err := n.deps.Store.Apply(&n.batch)
	n.batch.Reset()
	if err != nil {
		n.stats.StoreErrors++
		n.log.Error("store write failed", "err", err)
	}
	return err
}

// Outbox lists the node's sent mail, newest first.
func (n *Node) Outbox() []OutboxEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]OutboxEntry, 0, len(n.outbox))
	for _, o := range n.outbox {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created > out[j].Created
		}
		return string(out[i].ID[:]) < string(out[j].ID[:])
	})
	return out
}

// OutboxEntry returns one sent mail's entry.
func (n *Node) OutboxEntry(id envelope.ID) (OutboxEntry, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	o, ok := n.outbox[id]
	if !ok {
		return OutboxEntry{}, false
	}
	return *o, true
}

// Holds reports whether the node holds envelope id.
func (n *Node) Holds(id envelope.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.ids.get(id)
	return r != nil && r.held != nil
}

// HasAck reports whether the node remembers an ack for id.
func (n *Node) HasAck(id envelope.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.ids.get(id)
	return r != nil && r.ack != nil
}

// HeldInfo describes one held envelope for the dashboard.
type HeldInfo struct {
	ID     envelope.ID
	Size   int
	Hops   uint8
	Expiry time.Time
	Own    bool
	From   FriendKey
	Since  time.Time // when this node took it (or loaded it at start-up)
}

// Held lists the envelopes the node holds, soonest expiry first.
func (n *Node) Held() []HeldInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]HeldInfo, 0, n.nHeld)
	for _, e := range append(append([]*heldEntry(nil), n.relay.items...), n.own.items...) {
		out = append(out, HeldInfo{ID: e.meta.ID, Size: e.meta.Size, Hops: e.meta.Hops,
			Expiry: time.Unix(e.meta.Expiry, 0), Own: e.meta.Own, From: e.meta.From, Since: time.Unix(e.since, 0)})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Expiry.Equal(out[j].Expiry) {
			return out[i].Expiry.Before(out[j].Expiry)
		}
		return string(out[i].ID[:]) < string(out[j].ID[:])
	})
	return out
}

// PeerInfo describes a friend as the mesh sees it.
type PeerInfo struct {
	Key       FriendKey
	Online    bool  // connected
	MeshPeer  bool  // answered the mesh hello
	HeldBytes int64 // relay bytes held on its behalf
}

// Peers lists the friends the node keeps state for: those seen online
// since Start, and those that sent it the envelopes it holds.
func (n *Node) Peers() []PeerInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]PeerInfo, 0, len(n.peers))
	for _, p := range n.peers {
		out = append(out, PeerInfo{Key: p.key, Online: p.online, MeshPeer: p.ready, HeldBytes: p.heldBytes})
	}
	return out
}
