package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// world is one run: real mesh.Nodes on a MemNetwork, all on one
// VirtualClock, driven by one goroutine.
type world struct {
	c     *Config
	p     *plan
	sc    *scenario
	churn *Churn
	clock *mesh.VirtualClock
	net   *mesh.MemNetwork
	nodes []*vnode // by graph index; nil for nodes absent from this network

	catalog *catalog

	// Held bytes, all nodes together, and their integral over time.
	heldNow   int64
	heldArea  float64 // byte·seconds
	heldSince time.Time

	// Mail traffic (hellos are session control and counted apart).
	frames, bytes uint64
	hellos        uint64
	kinds         FrameCount
	byID          map[envelope.ID]int // envelope → mail index
	mailIDs       []envelope.ID
	delivered     []time.Time // per mail; zero if not yet
	hops          []int
	duplicates    int
	lost          int // mails Submit refused

	// Reachability, the bound on any strategy: a mail is reachable if its
	// recipient is online at some moment after its sender was, after the
	// mail was created and before it expires (or the run ends).
	reach   []reachState
	waiting map[int32][]int32 // node → mails waiting for it to come online
}

// reachState is where a mail stands on the way to being reachable.
type reachState uint8

const (
	reachSender    reachState = iota // waiting for the sender to be online
	reachRecipient                   // the sender was; waiting for the recipient
	reachDone                        // reachable
)

// discard is the simulated nodes' logger: one for all of them.
var discard = slog.New(slog.DiscardHandler)

// vnode is one simulated node.
type vnode struct {
	w      *world
	idx    int32
	node   *mesh.Node
	store  *store
	tr     *mesh.MemTransport
	key    envelope.PublicKey
	rng    *rand.Rand // churn draws
	always bool
	online bool
}

// Send implements mesh.Transport: the MemTransport's, counted by kind.
func (v *vnode) Send(to mesh.FriendKey, frame []byte) error {
	if err := v.tr.Send(to, frame); err != nil {
		return err
	}
	switch mesh.FrameKind(frame) {
	case "hello":
		v.w.hellos++
		return nil
	case "offer":
		v.w.kinds.Offer++
	case "request":
		v.w.kinds.Request++
	case "envelope":
		v.w.kinds.Envelope++
	case "ack":
		v.w.kinds.Ack++
	}
	v.w.frames++
	v.w.bytes += uint64(len(frame))
	return nil
}

// SendEnvelope implements mesh.EnvelopeCarrier: the MemTransport's,
// counted as the envelope frame it stands for.
func (v *vnode) SendEnvelope(to mesh.FriendKey, env mesh.SharedEnvelope, hops uint8) error {
	if err := v.tr.SendEnvelope(to, env, hops); err != nil {
		return err
	}
	v.w.frames++
	v.w.kinds.Envelope++
	v.w.bytes += uint64(2 + len(env.Bytes))
	return nil
}

// FrameBuffer implements mesh.FramePool: the MemNetwork's buffers.
func (v *vnode) FrameBuffer(n int) []byte { return v.tr.FrameBuffer(n) }

// Friends implements mesh.Transport.
func (v *vnode) Friends() []mesh.Friend { return v.tr.Friends() }

// SetHandler implements mesh.Transport.
func (v *vnode) SetHandler(h mesh.Handler) { v.tr.SetHandler(h) }

// Deliver implements mesh.Mailbox: it records the delivery.
func (v *vnode) Deliver(d *mesh.Delivery) error {
	w := v.w
	i, ok := w.byID[d.Letter.ID]
	if !ok {
		return nil // not a simulated mail (cannot happen)
	}
	if !w.delivered[i].IsZero() {
		w.duplicates++
		return nil
	}
	w.delivered[i] = d.Received
	w.hops[i] = d.Letter.PathLength()
	return nil
}

var (
	_ mesh.Transport       = (*vnode)(nil)
	_ mesh.EnvelopeCarrier = (*vnode)(nil)
	_ mesh.FramePool       = (*vnode)(nil)
	_ mesh.Mailbox         = (*vnode)(nil)
)

func (w *world) heldChanged(d int64) {
	now := w.clock.Now()
	w.heldArea += float64(w.heldNow) * now.Sub(w.heldSince).Seconds()
	w.heldNow += d
	w.heldSince = now
}

// runOne simulates one strategy at one TTL under one scenario, calling
// tick (if not nil) after each simulated hour. It gives up with ctx's error
// when ctx is done.
func runOne(ctx context.Context, c *Config, g *Graph, ch *Churn, sc *scenario, strategy string, ttl int, tick func()) (*Result, error) {
	w, err := newWorld(c, g, ch, sc, strategy, ttl)
	if err != nil {
		return nil, err
	}
	defer w.close()
	end := Epoch.Add(c.Duration())
	// Simulated time advances an hour at a time, so that a cancelled study
	// stops within a moment.
	for t := Epoch; t.Before(end); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t = t.Add(time.Hour); t.After(end) {
			t = end
		}
		w.clock.RunUntil(t)
		if tick != nil {
			tick()
		}
	}
	return w.result(end), nil
}

// newWorld builds the network of one run, with its churn and mails
// scheduled, at time Epoch.
func newWorld(c *Config, g *Graph, ch *Churn, sc *scenario, strategy string, ttl int) (*world, error) {
	p, err := makePlan(c, g, sc, strategy, ttl)
	if err != nil {
		return nil, err
	}
	clock := mesh.NewVirtualClock(Epoch)
	w := &world{
		c: c, p: p, sc: sc, churn: ch, clock: clock,
		net: mesh.NewMemNetwork(clock, mesh.MemConfig{Latency: c.Latency, Bandwidth: c.Bandwidth,
			ConnectDelay: c.ConnectDelay, ShareEnvelopes: true}),
		nodes:     make([]*vnode, p.nodes),
		catalog:   newCatalog(),
		heldSince: Epoch,
		byID:      make(map[envelope.ID]int, len(sc.mails)),
		mailIDs:   make([]envelope.ID, len(sc.mails)),
		delivered: make([]time.Time, len(sc.mails)),
		reach:     make([]reachState, len(sc.mails)),
		waiting:   make(map[int32][]int32),
		hops:      make([]int, len(sc.mails)),
	}
	if err := w.build(); err != nil {
		w.close()
		return nil, err
	}
	w.scheduleMails()
	return w, nil
}

func (w *world) close() {
	for _, v := range w.nodes {
		if v != nil && v.node != nil {
			v.node.Close()
		}
	}
}

// build creates the nodes, their friendships and their churn.
func (w *world) build() error {
	mc := meshConfig(w.c, w.p, len(w.sc.mails))
	for i := range w.nodes {
		idx := int32(i)
		if !w.p.present(idx) {
			continue
		}
		id := w.sc.identity(idx)
		v := &vnode{w: w, idx: idx, key: id.Public, tr: w.net.Transport(id.Public)}
		v.store = &store{w: w}
		var kr *envelope.Keyring
		if _, real := w.sc.keys[idx]; real {
			seal := rand.New(rand.NewPCG(w.sc.seed, streamSeal<<32|uint64(idx)))
			kr = envelope.NewKeyring(envelope.Config{Identity: id, Rand: rngReader{seal}, KeyCacheSize: 64})
		} else {
			kr = envelope.NewKeyring(envelope.Config{Identity: id, KeyCacheSize: -1})
		}
		n, err := mesh.NewNode(mc, mesh.Deps{Identity: id, Transport: v, Store: v.store, Mailbox: v, Clock: w.clock, Keyring: kr, Logger: discard})
		if err != nil {
			return fmt.Errorf("sim: node %d: %w", idx, err)
		}
		v.node = n
		w.nodes[i] = v
	}
	degree := make([]int32, len(w.nodes))
	w.p.edges(func(a, b int32) { degree[a]++; degree[b]++ })
	for i, v := range w.nodes {
		if v != nil && degree[i] > 0 {
			w.net.Grow(v.key, int(degree[i]))
		}
	}
	w.p.edges(func(a, b int32) {
		w.net.Befriend(w.nodes[a].key, w.nodes[b].key)
	})
	// Churn: each node's own stream, so every strategy sees the same
	// sessions for the same node.
	for _, v := range w.nodes {
		if v == nil {
			continue
		}
		if v.idx == w.p.relay {
			v.always = true
		} else {
			v.rng = rand.New(rand.NewPCG(w.sc.seed, streamChurn<<32|uint64(v.idx)))
			v.always = w.churn.AlwaysOn(v.rng)
		}
		online, next := true, time.Duration(0)
		if !v.always {
			online, next = w.churn.Start(v.rng)
		}
		v.online = online
		w.net.SetOnline(v.key, online)
		if !v.always {
			w.clock.AfterFunc(next, v.toggle)
		}
	}
	for _, v := range w.nodes {
		if v != nil {
			if err := v.node.Start(); err != nil {
				return err
			}
		}
	}
	return nil
}

// toggle switches the node on or off and schedules its next switch.
func (v *vnode) toggle() {
	v.online = !v.online
	v.w.net.SetOnline(v.key, v.online)
	v.w.clock.AfterFunc(v.w.churn.Next(v.rng, v.online), v.toggle)
	if v.online {
		v.w.cameOnline(v.idx)
	}
}

// advanceReach moves mail i on as far as the nodes online now allow,
// leaving it waiting for the next node it needs.
func (w *world) advanceReach(i int) {
	m := w.sc.mails[i]
	if w.clock.Now().After(w.reachDeadline(i)) {
		return
	}
	if w.reach[i] == reachSender {
		if !w.nodes[m.From].online {
			w.waiting[m.From] = append(w.waiting[m.From], int32(i))
			return
		}
		w.reach[i] = reachRecipient
	}
	if w.reach[i] == reachRecipient {
		if !w.nodes[m.To].online {
			w.waiting[m.To] = append(w.waiting[m.To], int32(i))
			return
		}
		w.reach[i] = reachDone
	}
}

// cameOnline advances the mails waiting for node v.
func (w *world) cameOnline(v int32) {
	mails := w.waiting[v]
	if len(mails) == 0 {
		return
	}
	delete(w.waiting, v)
	for _, i := range mails {
		w.advanceReach(int(i))
	}
}

// reachDeadline is when mail i stops counting as reachable: its expiry.
func (w *world) reachDeadline(i int) time.Time {
	return Epoch.Add(w.sc.mails[i].At + w.c.Lifetime)
}

// scheduleMails submits each mail at its creation time, from its sender,
// whether the sender is online or not (it is then queued, as in a real
// outbox).
func (w *world) scheduleMails() {
	for i, m := range w.sc.mails {
		w.clock.AfterFunc(m.At, func() {
			w.advanceReach(i)
			from := w.nodes[m.From]
			to := w.sc.identity(m.To).Public
			ids, err := from.node.Submit(mesh.Outgoing{To: to, Body: mailBody(i, m.Size)})
			if err != nil {
				w.lost++
				return
			}
			w.mailIDs[i] = ids[0]
			w.byID[ids[0]] = i
		})
	}
}

// result gathers the run's measurements.
func (w *world) result(end time.Time) *Result {
	w.heldChanged(0)
	r := &Result{
		Strategy: w.p.strategy,
		TTL:      w.p.ttl,
		Seed:     w.sc.seed,
		Created:  len(w.sc.mails) - w.lost,
	}
	var lat, ack []float64
	hopSum := 0
	for i, m := range w.sc.mails {
		if w.mailIDs[i] == (envelope.ID{}) {
			continue
		}
		created := Epoch.Add(m.At)
		if w.reach[i] == reachDone {
			r.Reachable++
		}
		if t := w.delivered[i]; !t.IsZero() {
			r.Delivered++
			lat = append(lat, t.Sub(created).Seconds())
			hopSum += w.hops[i]
			r.HopsMax = max(r.HopsMax, w.hops[i])
		}
		if o, ok := w.nodes[m.From].node.OutboxEntry(w.mailIDs[i]); ok && o.Status == mesh.StatusDelivered {
			r.AcksSeen++
			ack = append(ack, float64(o.Delivered-o.Created)/1000)
		}
	}
	slices.Sort(lat)
	slices.Sort(ack)
	r.Latencies = lat
	r.LatencyS = quantiles(lat)
	r.AckLatencyS = quantiles(ack)
	if r.Created > 0 {
		r.DeliveryRatio = float64(r.Delivered) / float64(r.Created)
		r.ReachableRatio = float64(r.Reachable) / float64(r.Created)
	}
	if r.Delivered > 0 {
		r.HopsMean = float64(hopSum) / float64(r.Delivered)
		r.FramesPerDelivery = float64(w.frames) / float64(r.Delivered)
		r.BytesPerDelivery = float64(w.bytes) / float64(r.Delivered)
	}
	r.Frames, r.Bytes, r.HelloFrames, r.FramesByKind = w.frames, w.bytes, w.hellos, w.kinds
	r.Duplicates = w.duplicates
	present := 0
	for _, v := range w.nodes {
		if v == nil {
			continue
		}
		present++
		r.PeakHeldBytesPerNode = max(r.PeakHeldBytesPerNode, v.store.peak)
		s := v.node.Stats()
		r.Offers += s.OffersIn
	}
	if secs := end.Sub(Epoch).Seconds(); secs > 0 && present > 0 {
		r.MeanHeldBytesPerNode = w.heldArea / secs / float64(present)
	}
	r.Nodes = present
	r.Events = w.clock.Fired()
	return r
}

func quantiles(sorted []float64) Quantiles {
	if len(sorted) == 0 {
		return Quantiles{}
	}
	q := Quantiles{N: len(sorted), P50: Percentile(sorted, 50), P90: Percentile(sorted, 90), P99: Percentile(sorted, 99)}
	q.Mean = Mean(sorted)
	for _, x := range []*float64{&q.P50, &q.P90, &q.P99, &q.Mean} {
		*x = math.Round(*x*1000) / 1000
	}
	return q
}
