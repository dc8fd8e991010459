package mesh

import (
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// send hands one frame to the transport and counts it.
func (n *Node) send(p *peer, frame []byte) bool {
	if err := n.deps.Transport.Send(p.key, frame); err != nil {
		n.stats.SendErrors++
		n.log.Debug("send failed", "to", p.key, "err", err, "temporary", Temporary(err))
		return false
	}
	n.stats.FramesOut++
	n.stats.BytesOut += uint64(len(frame))
	return true
}

func (n *Node) markDirty(p *peer) {
	if !p.dirty {
		p.dirty = true
		n.dirty = append(n.dirty, p)
	}
}

// queueOffer queues an offer of a held envelope to a friend; it goes out
// within Config.OfferDelay, batched with others.
func (n *Node) queueOffer(p *peer, e *heldEntry) {
	if !p.ready || e.meta.Hops == 0 {
		return
	}
	if len(p.offers) == 0 {
		p.offerDue = n.now.Add(n.cfg.OfferDelay)
		if n.offersDue.IsZero() || p.offerDue.Before(n.offersDue) {
			n.offersDue = p.offerDue
		}
	}
	p.offers = append(p.offers, e)
	n.markDirty(p)
}

// queueAck queues an ack to a friend for the next flush.
func (n *Node) queueAck(p *peer, a *ackEntry) {
	if !p.ready {
		return
	}
	p.acks = append(p.acks, a)
	n.acksQueued = true
	n.markDirty(p)
}

// flush sends queued acks, and queued offers that are due, as batched
// frames.
func (n *Node) flush(now time.Time) {
	if len(n.dirty) == 0 || (!n.acksQueued && now.Before(n.offersDue)) {
		n.apply()
		return
	}
	n.acksQueued = false
	n.offersDue = time.Time{}
	keep := n.dirty[:0]
	for _, p := range n.dirty {
		if !p.online {
			p.disconnect()
			p.dirty = false
			continue
		}
		n.flushAcks(p)
		if len(p.offers) > 0 && !now.Before(p.offerDue) {
			n.flushOffers(p, now)
		}
		if len(p.offers) > 0 || len(p.acks) > 0 {
			keep = append(keep, p)
			if len(p.offers) > 0 && (n.offersDue.IsZero() || p.offerDue.Before(n.offersDue)) {
				n.offersDue = p.offerDue
			}
			n.acksQueued = n.acksQueued || len(p.acks) > 0
		} else {
			p.dirty = false
		}
	}
	clear(n.dirty[len(keep):])
	n.dirty = keep
	n.apply()
}

func (n *Node) flushAcks(p *peer) {
	for len(p.acks) > 0 {
		k := min(len(p.acks), n.cfg.MaxBatch)
		chunk := p.acks[:k]
		acks := n.scratch.acks[:0]
		for _, a := range chunk {
			acks = append(acks, a.rec.Ack)
		}
		n.scratch.acks = acks[:0]
		if !n.send(p, encodeAcks(acks)) {
			break // the friend is unreachable; it gets them when it is back
		}
		for _, a := range chunk {
			a.known.add(p.idx)
		}
		n.stats.AcksOut += uint64(k)
		p.acks = p.acks[k:]
	}
	if len(p.acks) == 0 {
		p.acks = nil
	}
}

func (n *Node) flushOffers(p *peer, now time.Time) {
	var own []*heldEntry
	ok := true
	queue := p.offers
	for len(queue) > 0 && ok {
		k := min(len(queue), n.cfg.MaxBatch)
		chunk := queue[:k]
		queue = queue[k:]
		live := 0
		for _, e := range chunk {
			if !e.gone && e.meta.Hops > 0 {
				chunk[live] = e // still held and may travel
				live++
			}
		}
		if live == 0 {
			continue
		}
		n.seq++
		if n.seq == 0 {
			n.seq = 1 // 0 means "not an answer to an offer"
		}
		frame := offerFrame(n.seq, live)
		for _, e := range chunk[:live] {
			frame = appendOfferEntry(frame, &offerItem{id: e.meta.ID, hops: e.meta.Hops - 1, size: uint32(e.meta.Size), expiry: e.meta.Expiry})
			if e.meta.Own {
				own = append(own, e)
			}
		}
		if ok = n.send(p, frame); ok {
			n.stats.OffersOut += uint64(live)
			p.remember(n.seq, frame)
		}
	}
	clear(p.offers)
	p.offers = p.offers[:0] // keep the capacity for the next batch
	if !ok {
		return // the friend is unreachable: everything is offered again when it is back
	}
	for _, e := range own {
		if o := n.outbox[e.meta.ID]; o != nil && o.Status == StatusQueued {
			c := *o
			c.Status, c.Offered = StatusOffered, now.UnixMilli()
			n.batch.PutOutbox(c)
			n.outbox[c.ID] = &c
		}
	}
}

// arm sets the node's single timer to the next moment it has work: an
// expiry, a request deadline, a delivery retry, a delayed offer or the
// periodic sweep.
func (n *Node) arm(now time.Time) {
	if n.closed {
		return
	}
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, h := range []*heldHeap{&n.relay, &n.own} {
		if e := h.min(); e != nil {
			consider(time.Unix(e.meta.Expiry, 0))
		}
	}
	if len(n.ackHeap) > 0 {
		consider(time.Unix(n.ackHeap[0].rec.Expiry, 0))
	}
	for _, in := range n.inflightQueue {
		if !in.done {
			consider(in.deadline)
			break
		}
	}
	for _, r := range n.retry {
		consider(r.at)
	}
	consider(n.offersDue)
	if n.cfg.SweepInterval > 0 {
		consider(n.lastSweep.Add(n.cfg.SweepInterval))
	}
	if next.IsZero() {
		return
	}
	if n.timer != nil && !n.timerAt.After(next) {
		return // the armed timer fires first and re-arms
	}
	if n.timer != nil {
		n.timer.Stop()
	}
	n.timerGen++
	gen := n.timerGen
	n.timerAt = next
	n.timer = n.clock.AfterFunc(next.Sub(now), func() { n.wake(gen) })
}

func (n *Node) wake(gen uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || gen != n.timerGen {
		return
	}
	n.timer = nil
	now := n.clock.Now()
	n.now = now
	n.sweep(now)
	n.flush(now)
	n.arm(now)
}

// sweep drops what has expired, retries overdue requests and deliveries,
// and periodically sweeps the store.
func (n *Node) sweep(now time.Time) {
	unix := now.Unix()
	expired := 0
	for {
		e := n.relay.min()
		if o := n.own.min(); o != nil && (e == nil || o.meta.Expiry < e.meta.Expiry) {
			e = o
		}
		if e == nil || e.meta.Expiry > unix {
			break
		}
		n.unindex(e)
		n.batch.DeleteHeld(e.meta.ID)
		if o := n.outbox[e.meta.ID]; o != nil && o.Status != StatusDelivered {
			c := *o
			c.Status = StatusExpired
			n.batch.PutOutbox(c)
			n.outbox[c.ID] = &c
			n.log.Info("mail expired undelivered", "id", c.ID, "to", c.To)
		}
		n.stats.Expired++
		expired++
	}
	for len(n.ackHeap) > 0 && n.ackHeap[0].rec.Expiry <= unix {
		n.popAck()
	}
	for len(n.inflightQueue) > 0 {
		in := n.inflightQueue[0]
		if !in.done && in.deadline.After(now) {
			break
		}
		n.inflightQueue[0] = nil
		n.inflightQueue = n.inflightQueue[1:]
		if !in.done {
			n.retryRequest(in, now)
		}
	}
	for id, r := range n.retry {
		if r.at.After(now) {
			continue
		}
		delete(n.retry, id)
		if h, err := envelope.ParseHeader(r.env); err == nil && h.Expiry > unix {
			n.deliverMine(r.from, r.env, id, h.Expiry, now)
		}
	}
	n.apply()
	if expired > 0 || (n.cfg.SweepInterval > 0 && !now.Before(n.lastSweep.Add(n.cfg.SweepInterval))) {
		retention := int64(n.cfg.OutboxRetention / time.Second)
		if _, err := n.deps.Store.Expire(unix, retention); err != nil {
			n.stats.StoreErrors++
			n.log.Warn("store sweep failed", "err", err)
		}
		for id, o := range n.outbox {
			if o.Expiry <= unix-retention {
				delete(n.outbox, id)
			}
		}
		n.lastSweep = now
	}
}

// retryRequest asks the next friend that offered an envelope for it, after
// the friend first asked went quiet or away.
func (n *Node) retryRequest(in *inflight, now time.Time) {
	in.done = true
	if r := n.ids[in.id]; r != nil && r.in == in {
		n.setInflight(in.id, nil)
	}
	for i, q := range in.offerers {
		if !q.ready || q == in.from {
			continue
		}
		next := &inflight{id: in.id, from: q, offerers: in.offerers[i+1:], deadline: now.Add(n.cfg.RequestTimeout)}
		if n.send(q, encodeRequest(0, []envelope.ID{in.id})) {
			n.setInflight(in.id, next)
			n.inflightQueue = append(n.inflightQueue, next)
			n.stats.RequestRetries++
			n.stats.RequestsOut++
			return
		}
	}
	n.stats.RequestTimeouts++
}
