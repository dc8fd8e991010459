package mesh

import (
	"fmt"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// Outgoing is one mail to submit: one envelope to one recipient.
type Outgoing struct {
	To       envelope.PublicKey // recipient's long-term public key
	Body     []byte             // the mail, byte for byte
	Label    string             // opaque note kept in the outbox (≤ 255 bytes)
	TTL      uint8              // hop limit; 0 means Config.TTL
	Lifetime time.Duration      // time to expiry; 0 means Config.Lifetime
}

// Submit seals each mail and writes all of them to the outbox in one
// atomic store write, then offers them to the friends online. It returns
// their IDs in order. Either every mail is durably queued or none is: on a
// store failure the error is temporary (see Temporary) and nothing was
// written. Mail to the node's own key is delivered to its Mailbox at once,
// before the store write: a mailbox failure then leaves nothing written,
// but a store failure (or a crash) after it leaves that one mail delivered
// though Submit failed, and a sender that tries again delivers it twice.
// The other order would instead send every other recipient a second copy.
func (n *Node) Submit(msgs ...Outgoing) ([]envelope.ID, error) {
	now := n.clock.Now()
	envs := make([]*envelope.Envelope, len(msgs))
	for i, m := range msgs {
		ttl, life := m.TTL, m.Lifetime
		if ttl == 0 {
			ttl = n.cfg.TTL
		}
		if life == 0 {
			life = n.cfg.Lifetime
		}
		switch {
		case ttl > n.cfg.MaxHops:
			return nil, fmt.Errorf("%w: TTL %d exceeds MaxHops %d", ErrBadMail, ttl, n.cfg.MaxHops)
		case life < time.Minute || life > n.cfg.MaxLifetime:
			return nil, fmt.Errorf("%w: lifetime %v outside 1m..%v", ErrBadMail, life, n.cfg.MaxLifetime)
		case len(m.Label) > 255:
			return nil, fmt.Errorf("%w: label of %d bytes exceeds 255", ErrBadMail, len(m.Label))
		case m.To.IsZero():
			return nil, fmt.Errorf("%w: no recipient key", ErrBadMail)
		case envelope.SealedSize(len(m.Body)) > n.cfg.MaxEnvelopeSize:
			return nil, fmt.Errorf("%w: %d bytes seal to %d, over the %d-byte limit",
				ErrTooLarge, len(m.Body), envelope.SealedSize(len(m.Body)), n.cfg.MaxEnvelopeSize)
		}
		e, err := n.keys.Seal(envelope.SealParams{To: m.To, Body: m.Body, Created: now, Expiry: now.Add(life), Hops: ttl})
		if err != nil {
			return nil, fmt.Errorf("mesh: sealing mail %d: %w", i+1, err)
		}
		envs[i] = e
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started || n.closed {
		return nil, ErrClosed
	}
	n.now = now
	ids := make([]envelope.ID, len(msgs))
	entries := make([]*heldEntry, len(msgs))
	outs := make([]OutboxEntry, len(msgs))
	encs := make([][]byte, len(msgs))
	for i, e := range envs {
		b := e.Encode()
		id := envelope.ComputeID(b)
		ids[i], encs[i] = id, b
		outs[i] = OutboxEntry{ID: id, To: msgs[i].To, Created: now.UnixMilli(), Expiry: e.Expiry,
			Size: len(b), Status: StatusQueued, Label: msgs[i].Label}
		if msgs[i].To == n.Key() {
			continue // delivered below, never held
		}
		entries[i] = &heldEntry{meta: HeldMeta{ID: id, Expiry: e.Expiry, Hops: e.Hops, Size: len(b),
			Tag: e.Tag, AckHash: e.AckHash, Own: true}}
		n.batch.PutHeld(entries[i].meta, b)
		n.batch.PutOutbox(outs[i])
	}
	// Mail to oneself goes to the mailbox before anything is committed, so
	// a mailbox failure leaves nothing half-written.
	for i := range msgs {
		if entries[i] != nil {
			continue
		}
		if err := n.deliverSelf(encs[i], &outs[i], now); err != nil {
			n.batch.Reset()
			return nil, err
		}
		n.batch.PutOutbox(outs[i])
	}
	if err := n.apply(); err != nil {
		return nil, temporaryError{fmt.Errorf("mesh: writing outbox: %w", err)}
	}
	for i := range msgs {
		o := outs[i]
		n.putOutbox(&o)
		if entries[i] == nil {
			continue
		}
		n.index(entries[i])
		for _, p := range n.peers {
			if p.ready {
				n.queueOffer(p, entries[i])
			}
		}
		if entries[i].meta.Hops == 1 && n.lookup(msgs[i].To) == nil {
			// The last hop goes only to the recipient (its tag).
			n.log.Warn("mail with ttl 1 to a key that has not been online as a friend since the node started: "+
				"only the recipient itself, as a friend, can take it", "id", o.ID, "to", msgs[i].To)
		}
	}
	n.stats.Submitted += uint64(len(msgs))
	n.flush(now)
	n.arm(now)
	return ids, nil
}

// deliverSelf opens and delivers a mail the node sent to itself, and marks
// its outbox entry delivered.
func (n *Node) deliverSelf(b []byte, o *OutboxEntry, now time.Time) error {
	letter, err := n.keys.Open(b, now)
	if err != nil {
		return fmt.Errorf("mesh: opening mail to self: %w", err)
	}
	if n.deps.Mailbox != nil {
		if err := n.deps.Mailbox.Deliver(&Delivery{Letter: letter, Received: now}); err != nil {
			return fmt.Errorf("mesh: delivering mail to self: %w", err)
		}
	}
	o.Status, o.Delivered = StatusDelivered, now.UnixMilli()
	n.stats.Delivered++
	return nil
}
