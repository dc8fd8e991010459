package mesh

// The write path of BadgerStore: Apply, one badger transaction per batch.

import (
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/dgraph-io/badger/v4"

	"github.com/toxmail/toxmail/envelope"
)

// Apply implements Store: one badger transaction for the whole batch. The
// batch must not be changed until Apply returns.
func (s *BadgerStore) Apply(b *Batch) error {
	if err := s.gate.enter(); err != nil {
		return err
	}
	defer s.gate.leave()
	for i := range b.Ops {
		if err := badgerCheckOp(&b.Ops[i]); err != nil {
			return err
		}
	}
	if len(b.Ops) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	w := badgerWriter{txn: s.db.NewTransaction(true), wall: s.wallNow().Unix(), log: s.log}
	defer w.txn.Discard()
	for i := range b.Ops {
		if err := w.apply(&b.Ops[i]); err != nil {
			return s.batchError(b, err, fmt.Sprintf("operation %d of %d", i+1, len(b.Ops)))
		}
	}
	if err := w.txn.Commit(); err != nil {
		return s.batchError(b, err, "commit")
	}
	s.seen.count.Add(int64(w.seenAdded))
	// The batch is durable whatever happens next: a failure to forget
	// old IDs is only logged, and the next Apply or Expire tries again.
	// One transaction at most, so an Apply never stalls for long; each
	// adds a few IDs and forgets up to badgerExpireChunk.
	if err := s.boundSeen(badgerExpireChunk); err != nil {
		s.log.Warn("bounding the seen set", "err", err)
	}
	return nil
}

// batchError describes a failed Apply; nothing of the batch was applied.
func (s *BadgerStore) batchError(b *Batch, err error, where string) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		envBytes := 0
		for i := range b.Ops {
			if b.Ops[i].Kind == OpPutHeld {
				envBytes += len(b.Ops[i].Env)
			}
		}
		var limit string
		if s.inMemory {
			limit = fmt.Sprintf("in memory every envelope byte counts against badger's limit of %d bytes a transaction, room for two envelopes of BadgerOptions.MaxEnvelopeSize = %d bytes", s.db.MaxBatchSize(), s.maxEnvelope)
		} else {
			limit = fmt.Sprintf("badger's limit is %d entries and %d bytes of keys, records and value-log pointers a transaction", s.db.MaxBatchCount(), s.db.MaxBatchSize())
		}
		return fmt.Errorf("mesh: badger store: batch of %d operations with %d envelope bytes is too big for one transaction (%s); nothing was applied: apply it in smaller batches: %w", len(b.Ops), envBytes, limit, err)
	}
	return fmt.Errorf("mesh: badger store: batch %s: %w", where, err)
}

// badgerWriter applies operations inside one read-write transaction; reads
// see the transaction's own earlier writes.
type badgerWriter struct {
	txn       *badger.Txn
	wall      int64 // real time, Unix seconds, for TTL decisions only
	log       *slog.Logger
	seenAdded int // seen records created (not replaced)
}

func (w *badgerWriter) apply(op *Op) error {
	switch op.Kind {
	case OpPutHeld:
		return w.putHeld(op.ID, &op.Meta, op.Env)
	case OpDeleteHeld:
		return w.deleteHeld(op.ID)
	case OpSetHops:
		return w.setHops(op.ID, op.Hops)
	case OpMarkSeen:
		return w.markSeen(op.ID, op.Expiry)
	case OpEvict:
		if err := w.deleteHeld(op.ID); err != nil {
			return err
		}
		return w.markEvicted(op.ID, op.Meta.Expiry, op.Meta.AckHash)
	case OpPutAck:
		if err := w.putRecord(badgerPrefixAck, op.ID, op.Ack.Expiry, badgerEncodeAck(&op.Ack), true); err != nil {
			return err
		}
		return w.markAcked(op.ID, op.Ack.Expiry)
	case OpPutOutbox:
		return w.putRecord(badgerPrefixOutbox, op.ID, op.Outbox.Expiry, badgerEncodeOutbox(&op.Outbox), false)
	}
	return fmt.Errorf("unknown operation %d", op.Kind)
}

// putHeld writes the held record, the envelope's chunks and the seen
// record. Chunks of an envelope it replaces beyond the new one's are
// deleted; the others are overwritten.
func (w *badgerWriter) putHeld(id envelope.ID, m *HeldMeta, env []byte) error {
	n := badgerChunkCount(len(env))
	raw, err := w.get(badgerKey(badgerPrefixHeld, id))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		old := -1 // a corrupt record: its chunks are unknown
		if _, oldLen, err := badgerDecodeHeld(raw); err == nil {
			old = badgerChunkCount(oldLen)
		}
		if _, err := badgerDeleteChunks(w.txn, id, n, old); err != nil {
			return err
		}
	}
	if err := w.putRecord(badgerPrefixHeld, id, m.Expiry, badgerEncodeHeld(m, len(env)), true); err != nil {
		return err
	}
	for i := range n {
		lo, hi := badgerChunkBounds(i, len(env))
		if err := w.txn.SetEntry(w.entry(badgerChunkKey(id, i), env[lo:hi], m.Expiry, true)); err != nil {
			return err
		}
	}
	return w.markSeen(id, m.Expiry)
}

func (w *badgerWriter) deleteHeld(id envelope.ID) error {
	key := badgerKey(badgerPrefixHeld, id)
	raw, err := w.get(key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	chunks := -1
	if m, envLen, err := badgerDecodeHeld(raw); err != nil {
		w.log.Warn("deleting a corrupt store record", "key", fmt.Sprintf("%x", key), "err", err)
	} else {
		chunks = badgerChunkCount(envLen)
		if err := w.txn.Delete(badgerIndexKey(badgerPrefixHeld, m.Expiry, id)); err != nil {
			return err
		}
	}
	if err := w.txn.Delete(key); err != nil {
		return err
	}
	_, err = badgerDeleteChunks(w.txn, id, 0, chunks)
	return err
}

// setHops rewrites the hop counter in the held record and in chunk 0, the
// envelope's header; the other chunks stay as they are.
func (w *badgerWriter) setHops(id envelope.ID, hops uint8) error {
	key := badgerKey(badgerPrefixHeld, id)
	raw, err := w.get(key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("set hops of held envelope %s: %w", id.Short(), ErrNotFound)
		}
		return err
	}
	m, envLen, err := badgerDecodeHeld(raw)
	if err != nil {
		return fmt.Errorf("held envelope %s: %w", id.Short(), err)
	}
	ck := badgerChunkKey(id, 0)
	header, err := w.get(ck)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: held envelope %s has meta but no header chunk", errBadgerCorrupt, id.Short())
		}
		return err
	}
	if len(header) != envelope.HeaderSize {
		return fmt.Errorf("%w: held envelope %s has a header chunk of %d bytes", errBadgerCorrupt, id.Short(), len(header))
	}
	m.Hops = hops
	envelope.SetHops(header, hops) // header is a copy
	if err := w.putRecord(badgerPrefixHeld, id, m.Expiry, badgerEncodeHeld(&m, envLen), true); err != nil {
		return err
	}
	return w.txn.SetEntry(w.entry(ck, header, m.Expiry, true))
}

// badgerDeleteChunks deletes the chunks from, from+1, … of the envelope
// held as id, which has n chunks; n < 0 means unknown (a corrupt held
// record), and every chunk key under e|id from on is then looked for. It
// returns how many deletions it made.
func badgerDeleteChunks(txn *badger.Txn, id envelope.ID, from, n int) (int, error) {
	if n >= 0 {
		for i := from; i < n; i++ {
			if err := txn.Delete(badgerChunkKey(id, i)); err != nil {
				return i - from, err
			}
		}
		return max(n-from, 0), nil
	}
	var keys [][]byte
	it := txn.NewIterator(badger.IteratorOptions{Prefix: badgerKey(badgerPrefixEnv, id)})
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		if _, i, err := badgerParseChunkKey(k); err == nil && i < from {
			continue
		}
		keys = append(keys, k) // a chunk to drop, or a stray key
	}
	it.Close()
	for i, k := range keys {
		if err := txn.Delete(k); err != nil {
			return i, err
		}
	}
	return len(keys), nil
}

// markSeen records id until expiry, or keeps a later expiry already there.
func (w *badgerWriter) markSeen(id envelope.ID, expiry int64) error {
	key := badgerKey(badgerPrefixSeen, id)
	old, ok, err := w.oldExpiry(badgerPrefixSeen, key)
	if err != nil {
		return err
	}
	if ok && old.indexed && old.expiry >= expiry {
		return nil
	}
	if !ok {
		w.seenAdded++
	}
	rec := badgerSeen{expiry: expiry}
	if ok && old.indexed { // a later expiry: keep an evicted envelope's ack hash
		raw, err := w.get(key)
		if err != nil {
			return err
		}
		if s, err := badgerDecodeSeen(raw); err == nil && s.evicted {
			rec.evicted, rec.ackHash = true, s.ackHash
		}
	}
	return w.putRecord(badgerPrefixSeen, id, expiry, badgerEncodeSeen(rec), true)
}

// markAcked records id as seen, as markSeen does, and drops the ack hash
// an evicted envelope kept: the ack record answers for it now, and a
// replayed ack, once the node has forgotten the one it took, is not taken
// as new.
func (w *badgerWriter) markAcked(id envelope.ID, expiry int64) error {
	key := badgerKey(badgerPrefixSeen, id)
	raw, err := w.get(key)
	if errors.Is(err, ErrNotFound) {
		return w.markSeen(id, expiry)
	}
	if err != nil {
		return err
	}
	s, err := badgerDecodeSeen(raw)
	if err != nil || !s.evicted {
		return w.markSeen(id, expiry) // a corrupt record is replaced there
	}
	expiry = max(expiry, s.expiry)
	return w.putRecord(badgerPrefixSeen, id, expiry, badgerEncodeSeen(badgerSeen{expiry: expiry}), true)
}

// markEvicted records id as seen until the later of expiry and the expiry
// already there, with the ack hash of its evicted envelope.
func (w *badgerWriter) markEvicted(id envelope.ID, expiry int64, ackHash [envelope.AckHashSize]byte) error {
	key := badgerKey(badgerPrefixSeen, id)
	old, ok, err := w.oldExpiry(badgerPrefixSeen, key)
	if err != nil {
		return err
	}
	if !ok {
		w.seenAdded++
	}
	if ok && old.indexed {
		expiry = max(expiry, old.expiry)
	}
	return w.putRecord(badgerPrefixSeen, id, expiry, badgerEncodeSeen(badgerSeen{expiry: expiry, evicted: true, ackHash: ackHash}), true)
}

// putRecord writes the record kind|id and its index key, dropping the index
// key of the record it replaces.
func (w *badgerWriter) putRecord(kind byte, id envelope.ID, expiry int64, val []byte, ttl bool) error {
	key := badgerKey(kind, id)
	old, ok, err := w.oldExpiry(kind, key)
	if err != nil {
		return err
	}
	if ok && old.indexed && old.expiry != expiry {
		if err := w.txn.Delete(badgerIndexKey(kind, old.expiry, id)); err != nil {
			return err
		}
	}
	if err := w.txn.SetEntry(w.entry(key, val, expiry, ttl)); err != nil {
		return err
	}
	if ok && old.indexed && old.expiry == expiry {
		return nil // its index key is there already: one entry less in the transaction
	}
	return w.txn.SetEntry(w.entry(badgerIndexKey(kind, expiry, id), nil, expiry, ttl))
}

type badgerOld struct {
	expiry  int64
	indexed bool // false if the record is corrupt: its index key is unknown
}

// oldExpiry returns the expiry of the record at key, if there is one. A
// corrupt record is reported as present but not indexed, so that it can be
// overwritten or deleted.
func (w *badgerWriter) oldExpiry(kind byte, key []byte) (badgerOld, bool, error) {
	raw, err := w.get(key)
	if errors.Is(err, ErrNotFound) {
		return badgerOld{}, false, nil
	}
	if err != nil {
		return badgerOld{}, false, err
	}
	exp, err := badgerRecordExpiry(kind, raw)
	if err != nil {
		w.log.Warn("replacing a corrupt store record", "key", fmt.Sprintf("%x", key), "err", err)
		return badgerOld{}, true, nil
	}
	return badgerOld{expiry: exp, indexed: true}, true, nil
}

// get returns a copy of the value at key, or ErrNotFound.
func (w *badgerWriter) get(key []byte) ([]byte, error) {
	return badgerGet(w.txn, key)
}

// entry makes a badger entry whose TTL, if ttl is set and the record is
// not already past it in real time, is expiry plus the grace period.
func (w *badgerWriter) entry(key, val []byte, expiry int64, ttl bool) *badger.Entry {
	e := badger.NewEntry(key, val)
	if ttl && expiry > 0 && expiry <= math.MaxInt64-badgerTTLGrace && expiry+badgerTTLGrace > w.wall {
		e.ExpiresAt = uint64(expiry + badgerTTLGrace)
	}
	return e
}

func badgerGet(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// badgerRecordExpiry decodes the expiry of a record of the given kind.
func badgerRecordExpiry(kind byte, raw []byte) (int64, error) {
	switch kind {
	case badgerPrefixHeld:
		m, _, err := badgerDecodeHeld(raw)
		return m.Expiry, err
	case badgerPrefixSeen:
		s, err := badgerDecodeSeen(raw)
		return s.expiry, err
	case badgerPrefixAck:
		a, err := badgerDecodeAck(raw)
		return a.Expiry, err
	case badgerPrefixOutbox:
		o, err := badgerDecodeOutbox(raw)
		return o.Expiry, err
	}
	return 0, fmt.Errorf("%w: no record kind %#x", errBadgerCorrupt, kind)
}
