package mesh

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// onEnvelope is the relay decision for one envelope body from a friend:
// strict header parse, ID, then relay.
func (n *Node) onEnvelope(p *peer, b []byte, now time.Time) {
	h, err := envelope.ParseHeader(b)
	if err != nil {
		n.stats.EnvelopesIn++
		n.stats.Refused++
		n.log.Debug("malformed envelope", "from", p.key, "err", err)
		return
	}
	n.relayEnvelope(p, b, h, envelope.ComputeID(b), now)
}

// HandleEnvelope implements EnvelopeHandler: an envelope from a friend's
// node in this process, whose ID is already known.
func (n *Node) HandleEnvelope(from FriendKey, env SharedEnvelope, hops uint8) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, now, ok := n.receive(from, 2+len(env.Bytes)) // as the frame would be
	if !ok {
		return
	}
	if h, err := envelope.ParseHeader(env.Bytes); err != nil {
		n.stats.EnvelopesIn++
		n.stats.Refused++
	} else {
		h.Hops = hops
		n.relayEnvelope(p, env.Bytes, h, env.ID, now)
	}
	n.flush(now)
	n.arm(now)
}

// relayEnvelope decides what to do with envelope b (header h, ID id) from p:
// dedupe, checks, then deliver (if it is ours) or hold within budget and
// offer onward while hops remain. No public-key cryptography runs unless
// the tag is ours. b is not modified: h.Hops is the hop counter.
func (n *Node) relayEnvelope(p *peer, b []byte, h envelope.Header, id envelope.ID, now time.Time) {
	n.stats.EnvelopesIn++
	r := n.ids.get(id)
	var promised uint8       // hops offers promised while it was fetched
	var weakest uint8        // the fewest an offer promised
	var early []envelope.Ack // acks that came before the body
	var offerers, ackers friendSet
	if r != nil && r.in != nil {
		in := r.in
		promised, weakest, early = in.maxHops, in.minHops, in.acks
		offerers, ackers = in.offerers, in.ackers
		n.endInflight(in)
		r = n.ids.get(id)
	} else {
		n.stats.Unsolicited++
	}
	if r != nil && r.held != nil {
		n.stats.Duplicates++
		n.friendHas(p, r.held, h.Hops)
		return
	}
	if r != nil && r.ack != nil {
		n.stats.Duplicates++
		if !r.ack.known.has(p.idx) {
			n.queueAck(p, r.ack)
		}
		return
	}
	if n.isSeen(id) {
		n.stats.Duplicates++
		return
	}
	if !n.acceptable(len(b), h.Expiry, now) {
		n.stats.Refused++
		return
	}
	h.Hops = min(h.Hops, n.cfg.MaxHops)
	if n.mine(&h) {
		n.deliverMine(p.key, b, id, h.Expiry, h.Hops, now)
		return
	}
	if k := slices.IndexFunc(early, func(a envelope.Ack) bool { return a.Verify(h.AckHash) }); k >= 0 {
		// Delivered already: keep the ack, not the body.
		rec := AckRecord{Ack: early[k], Expiry: h.Expiry}
		n.batch.PutAck(rec)
		if n.apply() == nil {
			n.stats.AcksVerified++
			ae := n.addAck(rec)
			ae.known.union(&ackers)
			ae.toAll = false // it goes to those that offered it
			ae.to.union(&offerers)
			ae.to.add(p.idx)
			n.ackHeap.fit(ae)
			n.floodAck(ae)
		}
		return
	}
	n.hold(p, b, &h, id, &offerers, promised, weakest, now)
}

// hold keeps a relay copy within budget and offers it onward, except to
// the friends that have it: p, which sent the body, and the others that
// offered it while it was fetched. The copy is held with the most hops any
// of them promised (the body's own count if more); a friend whose copy
// can go further with ours is offered it too (canRaise): p, if the body
// came with fewer hops than promised, and the offerers, if one of them
// promised fewer than ours (weakest).
func (n *Node) hold(p *peer, b []byte, h *envelope.Header, id envelope.ID, offerers *friendSet, promised, weakest uint8, now time.Time) {
	hops := max(h.Hops, min(promised, n.cfg.MaxHops))
	e := &heldEntry{
		meta: HeldMeta{ID: id, Expiry: h.Expiry, Hops: h.Hops, Size: len(b), Tag: h.Tag, AckHash: h.AckHash, From: p.key},
		from: p,
	}
	victims, ok := n.makeRoom(p, e)
	if !ok {
		n.stats.OverBudget++
		n.noteNoRoom(id, h.Expiry, now)
		return
	}
	for i, v := range victims {
		if i < maxStoredEvictions {
			n.batch.Evict(v.meta) // keeps its ack hash for an ack that comes later
		} else {
			n.batch.DeleteHeld(v.meta.ID)
		}
	}
	n.batch.PutHeld(e.meta, b)
	if hops > h.Hops {
		n.batch.SetHops(id, hops) // the envelope's bytes carry the count too
		e.meta.Hops = hops
	}
	if n.apply() != nil {
		for _, v := range victims {
			n.index(v)
		}
		// Let its offers go for a while, as for one turned away for
		// budget, rather than fetch the body again at every hand-over
		// (a write too large for the store fails again).
		n.noteNoRoom(id, h.Expiry, now)
		return
	}
	n.stats.Evicted += uint64(len(victims))
	for _, v := range victims {
		n.rememberEvicted(v, now)
	}
	n.stats.Relayed++
	if hops > h.Hops {
		n.stats.Upgrades++
	}
	n.index(e)
	n.forgetEvicted(id)     // held again: its ack is checked against this copy
	e.known.union(offerers) // they offered it while we fetched it: they have it
	e.known.add(p.idx)
	if e.meta.Hops == 0 {
		return
	}
	raiseOfferers := offerers.count() > 0 && canRaise(weakest, hops)
	for k, q := range n.peers {
		i := int32(k)
		switch {
		case !q.ready:
		case !e.known.has(i),
			q == p && canRaise(h.Hops, hops),
			q != p && raiseOfferers && offerers.has(i):
			n.queueOffer(q, e)
		}
	}
}

// maxStoredEvictions is how many of the copies one envelope evicts keep
// their ack hash in the store (Batch.Evict): an Evict costs the store one
// record more than a delete, and all of them go in the envelope's write,
// which a store bounds. The rest keep it in memory only (rememberEvicted).
const maxStoredEvictions = 256

// makeRoom picks relay copies to evict so that e fits both the friend's
// share and the node's budget: those expiring first, as long as they expire
// no later than e. It takes the victims out of the index; if e cannot fit,
// it puts them back and reports false.
func (n *Node) makeRoom(p *peer, e *heldEntry) ([]*heldEntry, bool) {
	size := int64(e.meta.Size)
	share := int64(float64(n.cfg.MaxHeldBytes) * n.cfg.FriendShare)
	if size > share {
		return nil, false
	}
	var victims []*heldEntry
	fail := func() ([]*heldEntry, bool) {
		for _, v := range victims {
			n.index(v)
		}
		return nil, false
	}
	for p.heldBytes+size > share {
		v := p.heap.min()
		if v == nil || v.meta.Expiry > e.meta.Expiry {
			return fail()
		}
		n.unindex(v)
		victims = append(victims, v)
	}
	for n.heldSize+size > n.cfg.MaxHeldBytes {
		v := n.relay.min()
		if v == nil || v.meta.Expiry > e.meta.Expiry {
			return fail()
		}
		n.unindex(v)
		victims = append(victims, v)
	}
	return victims, true
}

// deliverMine opens an envelope addressed to this node, hands it to the
// mailbox, and floods the ack.
func (n *Node) deliverMine(from FriendKey, b []byte, id envelope.ID, expiry int64, hops uint8, now time.Time) {
	letter, err := n.keys.Open(b, now)
	if err == nil {
		letter.Hops = hops // b's hop byte may be stale
	}
	if err != nil {
		n.stats.OpenFailures++
		n.dropRetry(id)
		if ok, held := n.warnings().openFailure.Allow(now); ok {
			n.log.Warn("envelope with our tag did not open", "id", id, "from", from, "err", err, "not_logged_since_the_last", held)
		}
		n.batch.MarkSeen(id, expiry) // its ID commits to its bytes: it never will
		if n.apply() == nil {
			n.cacheSeen(id)
		}
		return
	}
	if n.deps.Mailbox != nil {
		err := n.deps.Mailbox.Deliver(&Delivery{Letter: letter, From: from, Received: now})
		if err != nil {
			n.stats.DeliverErrors++
			if !Temporary(err) {
				n.dropRetry(id)
				n.log.Error("mailbox refused delivery", "id", id, "err", err)
				return
			}
			// The first refusal of a mail is a warning; the retries that
			// follow, while the mailbox stays full, are not news.
			level := slog.LevelWarn
			if _, again := n.retry[id]; again {
				level = slog.LevelDebug
			}
			switch n.putRetry(id, b, len(letter.Body), from, hops, expiry, now) {
			case retryKept:
				n.log.Log(context.Background(), level, "mailbox refused delivery for now; will retry", "id", id, "err", err)
			case retryAskAgain:
				n.log.Log(context.Background(), level, "mailbox refused delivery for now; will ask the friend for it again", "id", id, "from", from, "err", err)
			default:
				n.log.Warn("mailbox refused delivery for now and the retry list is full; its relays will offer it again",
					"id", id, "err", err)
			}
			return
		}
	}
	n.dropRetry(id)
	rec := AckRecord{Ack: letter.Ack, Expiry: expiry}
	n.batch.PutAck(rec)
	if n.apply() != nil {
		return // the mailbox dedupes the next attempt
	}
	n.stats.Delivered++
	n.log.Info("mail received", "id", id, "sender", letter.Sender, "path", letter.PathLength())
	n.floodAck(n.addAck(rec))
}

// maxRetries bounds the deliveries waiting for the mailbox, and
// retryEnvelopes bounds the bytes of those kept whole in memory, in
// envelopes of MaxEnvelopeSize (32 MiB by default), outside MaxHeldBytes.
// Without a bound in bytes, anyone could make a node whose mailbox refuses
// for now (a full disk or inbox) keep 1,024 of the largest envelopes,
// 8 GiB by default. Past it the node keeps only the ID and asks for the
// envelope again: first the friend that sent it, then each friend online
// in turn (any that holds a copy serves it). Either way the waits back off
// from DeliverRetry to retryAskMax, until RetryDeliveries says the mailbox
// has room again. Past maxRetries the mail waits for its relays to offer
// it again. It is never acked before it is delivered, so its sender and
// relays keep it meanwhile.
const (
	maxRetries     = 1024
	retryEnvelopes = 4
	retryAskMax    = time.Hour
	// retryRefetch is the least time between two requests for a mail kept
	// by ID that RetryDeliveries brings forward: with no quota to say what
	// fits, a client deleting mail every minute would have every waiting
	// envelope fetched again every minute.
	retryRefetch = 10 * time.Minute
)

// What putRetry did with a delivery the mailbox refused for now.
const (
	retryDropped  = iota // the list is full
	retryKept            // kept whole, delivered again at its time
	retryAskAgain        // kept by ID: its body will be asked for again
)

// putRetry keeps a delivery the mailbox refused for now, whole if the bytes
// allow, and says what it did. A delivery refused again waits longer.
func (n *Node) putRetry(id envelope.ID, b []byte, size int, from FriendKey, hops uint8, expiry int64, now time.Time) int {
	old := n.retry[id]
	n.dropRetry(id)
	if len(n.retry) >= maxRetries {
		return retryDropped
	}
	r := &retryDelivery{env: b, size: size, from: from, hops: hops, expiry: expiry, wait: n.cfg.DeliverRetry}
	if old != nil {
		r.askedAt = old.askedAt
	}
	switch {
	case old == nil:
	case old.env != nil:
		r.wait = n.longerWait(old.wait) // tried again and refused again
	default:
		r.wait = old.wait // asked for again and refused again: retryDue doubled it when it asked
	}
	if n.retryBytes+len(b) > retryEnvelopes*n.cfg.MaxEnvelopeSize {
		r.env = nil
	}
	r.at = now.Add(r.wait)
	if n.retry == nil {
		n.retry = make(map[envelope.ID]*retryDelivery)
	}
	n.retry[id] = r
	n.retryBytes += len(r.env)
	if r.env == nil {
		return retryAskAgain
	}
	return retryKept
}

// dropRetry forgets the delivery of id waiting for the mailbox, if any.
func (n *Node) dropRetry(id envelope.ID) {
	if r, ok := n.retry[id]; ok {
		delete(n.retry, id)
		n.retryBytes -= len(r.env)
	}
}

// retryDue retries the delivery of id, which is due: again to the mailbox
// if it was kept whole, else by asking a friend for it, the one that sent
// it first (the answer comes as an envelope, delivered as any other).
func (n *Node) retryDue(id envelope.ID, now time.Time) {
	r := n.retry[id]
	if r.expiry <= now.Unix() {
		n.dropRetry(id)
		return
	}
	if r.env != nil {
		// deliverMine drops the entry, or keeps it with a longer wait.
		n.deliverMine(r.from, r.env, id, r.expiry, r.hops, now)
		return
	}
	// The friend that sent it first; after that, or if it is gone, the
	// next friend online in turn: any that holds a copy serves it, and the
	// others ignore the request.
	p := n.lookup(r.from)
	if r.asked > 0 || p == nil || !p.ready {
		p = n.nextReady(&r.turn)
	}
	if p != nil {
		n.send(p, encodeRequest(n.pool, 0, []envelope.ID{id}, nil))
		n.stats.RequestsOut++
		r.asked++
		r.askedAt = now
		r.wait = n.longerWait(r.wait)
	}
	r.at = now.Add(r.wait)
}

// longerWait doubles a retry's wait, up to retryAskMax (or DeliverRetry,
// if that is longer).
func (n *Node) longerWait(wait time.Duration) time.Duration {
	return min(2*wait, max(retryAskMax, n.cfg.DeliverRetry))
}

// RetryDeliveries tries the deliveries the mailbox refused for now again
// at once, if their mails are at most room bytes (room < 0: all): call it
// when the mailbox has room again (mail deleted, disk freed), so mail need
// not sit out a backoff of up to an hour. A mail kept whole starts its
// backoff afresh, as trying it costs nothing but the mailbox's time. One
// kept by ID keeps its backoff and is fetched again only if it was not
// asked for in the last 10 minutes, so that frequent deletes do not fetch
// every waiting envelope each time. It is safe to call at any time, from any goroutine
// but the mailbox's Deliver (which runs under the node's lock).
func (n *Node) RetryDeliveries(room int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	now := n.clock.Now()
	moved := false
	for _, r := range n.retry {
		fits := room < 0 || int64(r.size) <= room
		fetched := r.env == nil && !r.askedAt.IsZero() && now.Sub(r.askedAt) < retryRefetch
		if fits && !fetched && r.at.After(now) {
			r.at, moved = now, true
			if r.env != nil {
				r.wait = n.cfg.DeliverRetry
			}
		}
	}
	if moved {
		n.arm(now)
	}
}

// nextReady returns the first friend online at or after *turn in
// n.peers, wrapping round, and moves *turn past it; nil if none is.
func (n *Node) nextReady(turn *int) *peer {
	for k := range n.peers {
		i := (*turn + k) % len(n.peers)
		if n.peers[i].ready {
			*turn = i + 1
			return n.peers[i]
		}
	}
	return nil
}

// sortEntries orders held entries by expiry, then ID.
func sortEntries(es []*heldEntry) {
	slices.SortFunc(es, func(x, y *heldEntry) int {
		a, b := &x.meta, &y.meta
		if c := cmp.Compare(a.Expiry, b.Expiry); c != 0 {
			return c
		}
		return compareIDs(a.ID, b.ID)
	})
}
