package mesh

import (
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// HandleOnline implements Handler.
func (n *Node) HandleOnline(friend FriendKey, online bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started || n.closed {
		return
	}
	now := n.clock.Now()
	n.now = now
	p := n.peer(friend)
	if online {
		if !p.online {
			n.connected(p)
		}
	} else if p.online {
		n.disconnected(p, now)
	}
	n.flush(now)
	n.arm(now)
}

// connected greets a friend that just connected. Offers wait for its hello.
func (n *Node) connected(p *peer) {
	p.online = true
	n.send(p, encodeHello())
}

func (n *Node) disconnected(p *peer, now time.Time) {
	p.disconnect()
	// Ask someone else for what we were waiting on from this friend.
	for _, in := range n.inflightQueue {
		if !in.done && in.from == p {
			n.retryRequest(in, now)
		}
	}
}

// HandleFrame implements Handler: one frame from a friend.
func (n *Node) HandleFrame(from FriendKey, frame []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started || n.closed {
		return
	}
	now := n.clock.Now()
	n.now = now
	p := n.peer(from)
	p.online = true // a frame proves the connection
	n.stats.FramesIn++
	n.stats.BytesIn += uint64(len(frame))
	typ, payload, err := frameType(frame)
	if err == nil {
		switch typ {
		case frameHello:
			err = n.onHello(p, payload)
		case frameOffer:
			err = n.onOffer(p, payload, now)
		case frameRequest:
			err = n.onRequest(p, payload, now)
		case frameEnvelope:
			n.onEnvelope(p, payload, now)
		case frameAck:
			err = n.onAcks(p, payload, now)
		}
	}
	if err != nil {
		n.stats.BadFrames++
		n.log.Debug("bad frame", "from", from, "err", err)
	}
	n.flush(now)
	n.arm(now)
}

func (n *Node) onHello(p *peer, payload []byte) error {
	if err := decodeHello(payload); err != nil {
		return err
	}
	if p.ready {
		return nil
	}
	p.ready = true
	n.handOver(p)
	return nil
}

// handOver offers a friend that just became reachable everything it may
// lack: first the envelopes addressed to it, then the rest with hops left,
// and sends it the acks it has not had from us.
func (n *Node) handOver(p *peer) {
	var first, rest []*heldEntry
	for _, h := range []*heldHeap{&n.own, &n.relay} {
		for _, e := range h.items {
			if e.meta.Hops == 0 || e.known.has(p.idx) || e.from == p {
				continue
			}
			if p.tagFor(e.meta.Expiry) == e.meta.Tag {
				first = append(first, e)
			} else {
				rest = append(rest, e)
			}
		}
	}
	sortEntries(first)
	sortEntries(rest)
	for _, e := range first {
		n.queueOffer(p, e)
	}
	for _, e := range rest {
		n.queueOffer(p, e)
	}
	for _, a := range n.ackHeap {
		if !a.known.has(p.idx) {
			n.queueAck(p, a)
		}
	}
}

func (n *Node) onOffer(p *peer, payload []byte, now time.Time) error {
	seq, items, err := decodeOffer(payload, n.scratch.offers[:0])
	n.scratch.offers = items[:0]
	if err != nil {
		return err
	}
	n.stats.OffersIn += uint64(len(items))
	want := n.scratch.ids[:0]
	for i := range items {
		it := &items[i]
		if r := n.ids[it.id]; r != nil {
			if a := r.ack; a != nil {
				if !a.known.has(p.idx) {
					n.queueAck(p, a) // tell the offerer it can drop its copy
				}
				continue
			}
			if e := r.held; e != nil {
				e.known.add(p.idx)
				if it.hops > e.meta.Hops && !e.meta.Own {
					n.upgrade(e, it.hops, p)
				}
				continue
			}
			if in := r.in; in != nil {
				if in.from != p {
					in.offerers = append(in.offerers, p)
				}
				continue
			}
		}
		if n.isSeen(it.id) {
			continue
		}
		if !n.acceptable(int(it.size), it.expiry, now) {
			n.stats.Refused++
			continue
		}
		in := &inflight{id: it.id, from: p, deadline: now.Add(n.cfg.RequestTimeout)}
		n.setInflight(it.id, in)
		n.inflightQueue = append(n.inflightQueue, in)
		want = append(want, it.id)
	}
	n.scratch.ids = want[:0]
	n.stats.RequestsOut += uint64(len(want))
	n.send(p, encodeRequest(seq, want))
	return nil
}

// acceptable checks an envelope's size and expiry against the budgets.
func (n *Node) acceptable(size int, expiry int64, now time.Time) bool {
	if size < envelope.SealedSize(0) || size > n.cfg.MaxEnvelopeSize {
		return false
	}
	if expiry <= now.Unix() {
		return false
	}
	return expiry <= now.Add(n.cfg.MaxLifetime+n.cfg.ClockSkew).Unix()
}

// upgrade raises a held copy's hop counter when a friend offers it with
// more hops left, and offers it onward with the new count.
func (n *Node) upgrade(e *heldEntry, hops uint8, from *peer) {
	hops = min(hops, n.cfg.MaxHops)
	if hops <= e.meta.Hops {
		return
	}
	e.meta.Hops = hops
	n.batch.SetHops(e.meta.ID, hops)
	if n.apply() != nil {
		return
	}
	n.stats.Upgrades++
	for _, q := range n.peers {
		if q != from && q.ready {
			n.queueOffer(q, e)
		}
	}
}

func (n *Node) onRequest(p *peer, payload []byte, now time.Time) error {
	seq, ids, err := decodeRequest(payload, n.scratch.ids[:0])
	n.scratch.ids = ids[:0]
	if err != nil {
		return err
	}
	n.stats.RequestsIn += uint64(len(ids))
	if seq != 0 {
		// What we offered and the friend did not ask for, it has.
		if f := p.answered(seq); f != nil {
			n.markDeclined(p, f, ids)
		}
	}
	for _, id := range ids {
		r := n.ids[id]
		var e *heldEntry
		if r != nil {
			e = r.held
		}
		if e == nil {
			if r != nil && r.ack != nil && !r.ack.known.has(p.idx) {
				n.queueAck(p, r.ack)
			}
			continue
		}
		if e.meta.Hops == 0 {
			continue // it may travel no further
		}
		env, err := n.deps.Store.Envelope(id)
		if err != nil {
			n.stats.StoreErrors++
			n.log.Warn("held envelope unreadable", "id", id, "err", err)
			continue
		}
		if n.send(p, encodeEnvelope(env, e.meta.Hops-1)) {
			e.known.add(p.idx)
			n.stats.EnvelopesOut++
		}
	}
	return nil
}

// markDeclined marks the IDs of one of our offer frames that the friend
// did not request as known to it.
func (n *Node) markDeclined(p *peer, offer []byte, wanted []envelope.ID) {
	_, items, err := decodeOffer(offer[2:], n.scratch.offers[:0])
	n.scratch.offers = items[:0]
	if err != nil {
		return
	}
next:
	for i := range items {
		for _, w := range wanted {
			if w == items[i].id {
				continue next
			}
		}
		if r := n.ids[items[i].id]; r != nil && r.held != nil {
			r.held.known.add(p.idx)
		}
	}
}

func (n *Node) onAcks(p *peer, payload []byte, now time.Time) error {
	acks, err := decodeAcks(payload, n.scratch.acks[:0])
	n.scratch.acks = acks[:0]
	if err != nil {
		return err
	}
	n.stats.AcksIn += uint64(len(acks))
	for _, a := range acks {
		n.takeAck(p, a, now)
	}
	return nil
}

// takeAck checks an ack against the held envelope it names and, if it
// verifies, drops the copy, remembers the ack and floods it on.
func (n *Node) takeAck(p *peer, a envelope.Ack, now time.Time) {
	r := n.ids[a.ID]
	if r != nil && r.ack != nil {
		r.ack.known.add(p.idx)
		return
	}
	if r == nil || r.held == nil {
		n.stats.AcksUnknown++
		return
	}
	e := r.held
	if !a.Verify(e.meta.AckHash) {
		n.stats.AcksForged++
		n.log.Warn("forged ack", "from", p.key, "id", a.ID)
		return
	}
	rec := AckRecord{Ack: a, Expiry: e.meta.Expiry}
	n.batch.DeleteHeld(a.ID)
	n.batch.PutAck(rec)
	var o *OutboxEntry
	if e.meta.Own {
		if cur := n.outbox[a.ID]; cur != nil {
			c := *cur
			c.Status = StatusDelivered
			c.Delivered = now.UnixMilli()
			n.batch.PutOutbox(c)
			o = &c
		}
	}
	if n.apply() != nil {
		return
	}
	n.stats.AcksVerified++
	n.unindex(e)
	if o != nil {
		n.outbox[a.ID] = o
		n.log.Info("mail delivered", "id", a.ID, "to", o.To)
	}
	ae := n.addAck(rec)
	ae.known.add(p.idx)
	n.floodAck(ae)
}

// floodAck sends an ack to every mesh friend not known to have it.
func (n *Node) floodAck(ae *ackEntry) {
	for _, q := range n.peers {
		if q.ready && !ae.known.has(q.idx) {
			n.queueAck(q, ae)
		}
	}
}
