package mesh

import "github.com/toxmail/toxmail/envelope"

// Stats are a node's counters since Start (and gauges of its state now).
type Stats struct {
	FramesIn, FramesOut uint64 // frames received and sent
	BytesIn, BytesOut   uint64 // their bytes
	SendErrors          uint64 // frames lost: friend offline, backlog full, permanent errors
	Backlogged          uint64 // frames the transport refused for now, kept to retry
	BacklogDropped      uint64 // frames dropped because a friend's backlog was full
	ServedLater         uint64 // requested bodies that waited for room in a friend's backlog
	BadFrames           uint64 // frames that failed to decode

	OffersIn, OffersOut     uint64 // offered IDs received and sent
	RequestsIn, RequestsOut uint64 // requested IDs received and sent
	Deferred                uint64 // offered IDs deferred for the request limits
	EnvelopesIn             uint64 // envelope frames received
	EnvelopesOut            uint64 // envelope bodies sent
	ServesRefused           uint64 // requests not served: the friend had had too many bodies of late (see Node.serve)
	Duplicates              uint64 // envelope bodies that were already seen
	Unsolicited             uint64 // envelope bodies nobody asked for (still accepted if new)
	Refused                 uint64 // envelopes refused: malformed, expired, too far in the future, too big
	Relayed                 uint64 // envelopes accepted and held for others
	Upgrades                uint64 // held copies whose hop counter a friend raised
	Evicted                 uint64 // relay copies evicted for budget
	OverBudget              uint64 // new envelopes turned away for budget
	Expired                 uint64 // held envelopes dropped at expiry
	OwnExpired              uint64 // own mails marked expired undelivered (see Node.Outbox)
	RequestRetries          uint64 // requests sent again to another offerer
	RequestTimeouts         uint64 // requests abandoned with no one left to ask (and no ack seen)
	RequestsAcked           uint64 // requests answered with the ack: the mail was delivered meanwhile

	Delivered     uint64 // mails opened and handed to the Mailbox
	OpenFailures  uint64 // envelopes with our tag that did not open
	DeliverErrors uint64 // Mailbox errors

	AcksIn, AcksOut uint64 // acks received and sent
	AcksVerified    uint64 // acks that purged a held copy
	AcksForged      uint64 // acks that failed verification
	AcksUnknown     uint64 // acks for envelopes not held here (not forwarded)
	AcksEvicted     uint64 // acks forgotten before expiry, past Config.MaxAcks

	Submitted uint64 // own mails accepted by Submit
	// PeakHeldBytes is the most bytes held at once (own mail included).
	PeakHeldBytes int64
	StoreErrors   uint64 // store failures

	// Gauges.
	Held      int   // envelopes held (own mail included)
	HeldBytes int64 // their bytes
	OwnHeld   int   // own mail still held (not yet acked or expired)
	AcksKept  int   // acks remembered
	Inflight  int   // requests awaiting a body
	Peers     int   // friends the node keeps state for (see Node.Peers)
	Online    int   // friends connected
	MeshPeers int   // friends that answered hello
	// DeliveriesWaiting is how many mails for this node the Mailbox
	// refused for now, waiting to be tried again (RetryDeliveries).
	DeliveriesWaiting int
	// SeenIDs is how many IDs the store's seen set holds, and
	// SeenForgotten how many it forgot before their expiry to stay within
	// Config.MaxSeen since it was opened; both 0 for a store that does not
	// count them (a SeenCounter).
	SeenIDs       int
	SeenForgotten uint64
}

// SeenCounter is a Store that counts its seen set; BadgerStore is one.
type SeenCounter interface {
	SeenRecords() (count int, evicted uint64)
}

// DeliveryWaiting reports whether the mail of envelope id waits to be
// tried again, its delivery refused for now by the Mailbox (a full
// inbox), and has not expired: what Stats.DeliveriesWaiting counts.
func (n *Node) DeliveryWaiting(id envelope.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.retry[id]
	return ok && r.expiry > n.clock.Now().Unix()
}

// Stats returns the node's counters and gauges.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stats
	s.Held, s.HeldBytes = n.nHeld, n.heldSize
	s.OwnHeld = n.own.Len()
	s.AcksKept = n.nAcks
	s.Inflight = n.nInflight
	s.Peers = len(n.peers)
	now := n.clock.Now().Unix()
	for _, r := range n.retry {
		if r.expiry > now { // an expired one leaves at its next retry
			s.DeliveriesWaiting++
		}
	}
	if sc, ok := n.deps.Store.(SeenCounter); ok {
		s.SeenIDs, s.SeenForgotten = sc.SeenRecords()
	}
	for _, p := range n.peers {
		if p.online {
			s.Online++
		}
		if p.ready {
			s.MeshPeers++
		}
	}
	return s
}
