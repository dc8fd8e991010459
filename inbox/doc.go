// Package inbox is the durable mailbox of opened mail on a toxmail node.
//
// The mesh engine opens an envelope addressed to this node, verifies its
// sender and hands the plaintext mail to the inbox; the POP3 server lists,
// retrieves and deletes it. Nothing here knows about envelopes, Tox or POP3:
// the inbox stores bytes under the envelope's 32-byte ID together with a small
// [Meta] record, in a badger database.
//
// # Writing: two phases
//
// A mail is written with [Inbox.Begin], [Delivery.Write] and then
// [Delivery.Commit] or [Delivery.Abort] (or all at once with
// [Inbox.Deliver]). Nothing is visible to [Inbox.List], [Inbox.Get] or
// [Inbox.Has] before Commit returns. Bodies are stored in chunks of 512 KiB;
// a mail that fits one chunk is written in a single badger transaction, a
// larger one is staged chunk by chunk under a "pending body" marker and made
// visible by one small final transaction. A crash at any point leaves either
// the whole mail or none of it: staged bodies whose marker survives a crash
// are removed by the next [Open].
//
// # Durability
//
// Badger runs with synchronous writes: when Commit or Delete returns without
// error the change is on disk. The mesh may acknowledge an envelope as soon
// as Commit has returned.
//
// # Exactly once per envelope
//
// Every committed mail is indexed by its [EnvelopeID]. Commit of an ID that
// is present, or that was delivered and deleted and whose Meta.KeepUntil has
// not yet passed, changes nothing and reports added=false. The check and the
// write happen in one transaction under one writer lock, so of any number of
// concurrent deliveries of one ID exactly one reports added=true. When a mail
// is deleted, a tombstone remembers its ID until KeepUntil (the envelope's
// expiry: after it no copy of the envelope can still be in flight). A
// tombstone past KeepUntil, judged by [Options.Now], counts as gone at once;
// [Inbox.Expire] removes such tombstones from disk. Badger's own TTL
// (KeepUntil plus one hour of grace) is only a backstop for a node that
// never calls Expire.
//
// # Identifiers
//
// Each mail has a Seq, strictly increasing in commit order and never reused
// (the counter lives in the database and is written in the commit
// transaction), and a UID: the 64 lower-case hex digits of its envelope ID,
// stable forever and a valid RFC 1939 UIDL.
//
// # Key schema
//
// The full key layout is written down at the top of store.go:
//
//	'v'                    schema version
//	'c' "seq"              last Seq handed out (8 bytes, big-endian)
//	'c' "body"             badger Sequence for body IDs
//	'm' seq(8)             message record (records.go)
//	'e' envelopeID(32)     index: envelope ID -> seq
//	't' envelopeID(32)     tombstone: delivered, then deleted; ExpiresAt set
//	'b' bodyID(8) chunk(4) body chunk, at most 512 KiB
//	'p' bodyID(8)          pending body: staged or awaiting purge
//
// All integers are big-endian so keys sort by sequence number.
package inbox
