// Package mesh is toxmail's gossip engine: it floods sealed envelopes from
// friend to friend with a hop limit, holds what it cannot open until the
// envelope expires or is acknowledged, hands envelopes over when friends
// come online, delivers the node's own mail to its Mailbox, and floods acks
// back so that relays drop their copies and the sender's outbox shows the
// mail delivered.
//
// The engine knows nothing of Tox. It talks to three small interfaces it
// defines: Transport (friends, their online state, frames), Clock (real or
// virtual time) and Store (durable state). MemNetwork is an in-memory
// Transport and VirtualClock a simulated clock, so tests and the simulator
// run the real engine deterministically; MemStore and BadgerStore are the
// two stores.
//
// # Rules
//
//   - TTL: a mail's TTL is the number of friend links it may travel from its
//     sender. A node holding a copy with h hops left offers it onward only if
//     h ≥ 1, and the friend holds it with h-1. A friend's hop counter is
//     capped at Config.MaxHops. If a friend later offers a copy with more
//     hops left than ours (it came by a shorter path), we raise ours and
//     offer again ("upgrade"), without moving the body a second time.
//     The other way round, a friend that offers a copy (or sends the body,
//     or offered while we fetched it) with hops such that ours would give
//     it more than it holds is offered ours, so that it upgrades: a copy
//     that came the long way round, because a node on the short path was
//     offline, would otherwise stop short of the TTL for good.
//   - Dedupe: an envelope is recognised by its ID (SHA-256 over everything
//     but the hop counter, recomputed on arrival). The node checks its
//     in-memory index (held copies, acks, outstanding requests), then an LRU
//     of recently seen IDs, then the store's persistent seen set, which
//     lives until each envelope's expiry. A restart or a late duplicate
//     therefore neither re-floods nor double-delivers.
//   - Hold: every node holds the envelopes it cannot open, within budget,
//     until expiry or ack. Expiry is absolute; envelopes expiring further
//     ahead than Config.MaxLifetime (plus ClockSkew) are refused.
//   - Hand-over: when a friend's hello arrives, the node offers it every held
//     envelope it is not known to have and that may still travel, the
//     envelopes whose tag is that friend's first, then sends it the acks
//     meant for it (see Acks) that it has not had from us, and again the
//     acks of envelopes we sent it whose last push may have been lost with
//     the connection (one is confirmed when the connection stays up two
//     minutes after it).
//   - Deliver: an envelope whose tag is ours is opened (sender verified),
//     given to the Mailbox, recorded as seen with its ack, and the ack
//     floods to every mesh friend.
//   - Acks: a node that holds the envelope checks the ack against the
//     envelope's ack hash, drops its copy, remembers the ack until the
//     envelope's expiry, and passes it on to the friends that may hold the
//     envelope: those that offered it, were offered it or were sent it by
//     this node, and the one it came from (now or, for a friend offline now,
//     when it returns); for an envelope loaded from the store at start,
//     whose history is not stored, to every friend. A relay that evicted
//     its copy for budget does the same with what it kept of it: in memory
//     the ack hash and those friends (see rememberEvicted), and in the
//     store the ack hash beside the seen entry (Batch.Evict), which, after
//     a restart or when memory had no room, sends the ack to every friend.
//     A node that never held the envelope cannot check the ack and does
//     not forward it, so acks travel only where the envelope went; every
//     holder gets the ack at least from the friend that sent it the
//     envelope, unless that friend's seen set forgot the ID (past
//     MaxSeen), or it restarted after one envelope evicted more than
//     maxStoredEvictions copies, or its remembered ack was forgotten (past
//     MaxAcks) before the holder came back. A friend that offers
//     an acked envelope, or asks for it, is answered with the ack.
//   - Budgets: Config.MaxHeldBytes bounds all held bytes; no friend's
//     envelopes may fill more than Config.FriendShare of it. When a new
//     envelope does not fit, relay copies are evicted earliest expiry first
//     (the friend's own first, for its share), as long as they expire no
//     later than the newcomer; otherwise the newcomer is turned away, and
//     offers of it are let go for an hour (noRoomFor). The node's own
//     outbox is never evicted.
//   - Outbox: each own mail is queued (durable), offered (to at least one
//     friend), delivered (ack seen) or expired.
//
// # Friend protocol
//
// Frames are described in frame.go. On connect both sides send hello with
// a session number; each starts offering after the other's hello, so a
// friend that never answers (a plain Tox client) is never sent mesh
// traffic, and a hello with a new session means the friend restarted: the
// node starts over with it (hand-over included) at most once per
// Config.RequestTimeout, and a restart sooner than that waits for it.
// Offers (ID, hops, size, expiry) are batched for up to Config.OfferDelay.
// The receiver answers an offer frame only when it wants some of its IDs
// or must defer some (Config.MaxInflight and MaxInflightPerFriend bound
// what it has asked for and not yet received): the request lists both, and
// the offerer offers the deferred ones again later. An offer of nothing new
// gets no answer, so the duplicates that make up most of a flood's offers
// cost the receiver a look-up and no frame. Bodies are sent only on
// request, so a body crosses a link at most once unless a request times out
// (Config.RequestTimeout) or is answered with the ack, and is retried, first
// with another friend that offered it, then with the same friend; when
// those are at their request limits it waits, and is asked of the first
// with room after another RequestTimeout, or at once of a friend with room
// that offers it meanwhile. At most MaxInflightPerFriend records wait for
// any one friend, and they do not count towards MaxInflight, which bounds
// requests actually out.
//
// What a node believes a friend has comes only from the friend and from
// what the node sent it: the friend offered the envelope or sent its ack,
// or the node sent it the body. A friend that silently had an offered
// envelope is not known to have it, so after a reconnect it may be offered
// the envelope again; it ignores the offer again. A body or ack the node
// sent may be lost with the connection: the friend asks for the body again;
// an ack goes again on the next session to a friend that was sent the
// envelope, unless the connection stayed up two minutes after the push,
// and any other friend learns it when it next offers the envelope.
// A frame the transport refuses for backpressure is kept in the friend's
// backlog, in order, and retried; frames to a friend that went offline are
// dropped and everything is offered again when it returns.
//
// # Concurrency and determinism
//
// A Node is one mutex around plain data; Transport.Send never blocks and
// never calls back. With a VirtualClock and MemNetwork every event runs on
// the goroutine that advances the clock, in (time, scheduling order), and
// the node never ranges over a Go map where order is visible, so the same
// inputs give the same outputs.
package mesh
