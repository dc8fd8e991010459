package mesh

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/toxmail/toxmail/envelope"
)

// BadgerStore keeps a node's state in a badger database.
//
// Key layout (schema 2). Every key starts with a one-byte prefix; ids are
// the 32-byte envelope IDs; times are Unix seconds as 8 big-endian bytes
// with the sign bit flipped, so that keys sort by time:
//
//	'v'                            → schema version (1 byte, currently 2)
//	'h' | id                       → held meta record   (HeldMeta, envelope length)
//	'e' | id | chunk               → one chunk of the held envelope's bytes
//	's' | id                       → seen record        (expiry)
//	'a' | id                       → ack record         (AckRecord)
//	'o' | id                       → outbox record      (OutboxEntry)
//	'x' | kind | expiry | id       → empty: the expiry index
//
// Envelope chunks. chunk is a 2-byte big-endian index. Chunk 0 is the
// envelope's 120-byte header, hop counter included (byte 2), so SetHops
// rewrites 120 bytes and never the ciphertext. Chunks 1, 2, … hold the
// ciphertext in pieces of badgerChunkSize (512 KiB), the last one shorter:
// an envelope of L bytes has 1 + ⌈(L−120)/512 KiB⌉ chunks, 129 at the
// format maximum (64 MiB + 120 bytes). The held record stores L, so reads
// and deletes know the chunks without a scan. All chunks are written and
// deleted in the same transaction as their held record, with the same TTL.
// Chunks exist because badger in memory keeps every value in its memtable
// and takes only values below its value threshold, which is at most 1 MiB.
//
// Schema 1 kept every envelope whole under 'e' | id; OpenBadgerStore
// refuses such a store (there is no migration).
//
// kind is the prefix of the indexed record ('h', 's', 'a' or 'o'). Every
// record with an expiry has exactly one index key, written and deleted in
// the same transaction as the record, so Expire walks only the expired head
// of each kind's index instead of scanning the store. An index key whose
// record is gone or carries another expiry is stale; Expire drops it
// without counting it.
//
// Records are versioned binary (see badgerstore_codec.go) and decoded
// strictly: a corrupt record is an error, never a panic.
//
// Transaction size. Apply is one badger transaction. Badger bounds a
// transaction to 15% of the memtable size, counting for every entry its key,
// 12 bytes, and either its value, if the value stays in the LSM tree, or a
// 14-byte pointer, if it goes to the value log; and it bounds the entries to
// that size over 96 (a skiplist node).
//
//   - On disk (16 MiB memtable: 2.4 MiB and 26214 entries a transaction),
//     chunks of badgerValueThreshold (4 KiB) or more go to the value log and
//     cost 59 bytes each, whatever their size. A format-maximum envelope
//     costs about 8 KiB and 133 entries (129 chunks, the held record, the
//     seen record and their index keys), so one Apply carries any envelope
//     the format allows, and up to about 195 of the largest at once; an
//     8 MiB envelope costs about 1.4 KiB and 21 entries.
//   - In memory there is no value log: every chunk counts in full. The
//     memtable is sized from BadgerOptions.MaxEnvelopeSize (default 8 MiB,
//     mesh's default Config.MaxEnvelopeSize) so that one Apply carries two
//     envelopes of that size and 1 MiB of other records: by default a
//     114 MiB memtable, 17.1 MiB a transaction.
//
// A batch over the limit fails whole, with an error wrapping
// badger.ErrTxnTooBig. Expire bounds its own transactions.
//
// Time. Expiry is logical: it comes from the node's clock through Expire's
// now, which may be virtual. Badger TTLs are a backstop only, set to the
// logical expiry plus an hour of grace and checked by badger against real
// time; a record whose TTL would already be over in real time (a virtual
// clock behind the wall clock) gets none, so a TTL never hides a record the
// node still considers alive. Outbox records get no TTL: they live until
// Expire removes them, retention after their expiry. Reading the wall clock
// for that decision is the only place the mesh package does so.
//
// A BadgerStore is safe for concurrent use. Writes (Apply, Expire) are
// serialised.
type BadgerStore struct {
	db       *badger.DB
	log      *slog.Logger
	inMemory bool
	wallNow  func() time.Time // for TTL decisions only

	writeMu sync.Mutex // one writer at a time: no transaction conflicts
	gate    badgerGate

	maxEnvelope int // in memory: the MaxEnvelopeSize the memtable is sized for
	// expireOps is a soft bound on the deletions of one Expire
	// transaction: badgerExpireOps but in tests.
	expireOps int

	stopGC chan struct{}
	gcDone chan struct{}
}

// BadgerOptions configures OpenBadgerStore.
type BadgerOptions struct {
	// Dir is the database directory, created with mode 0700. Required
	// unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests): Dir is ignored and
	// nothing survives Close.
	InMemory bool
	// Logger receives badger's warnings and errors and failed value-log
	// garbage collections; nil discards them.
	Logger *slog.Logger
	// GCInterval is how often, in real time, the value log is garbage
	// collected. 0 means 10 minutes; negative means never (tests; RunGC
	// still works).
	GCInterval time.Duration
	// NoSync skips the fsync after each Apply. Faster, but a power loss may
	// lose the last batches (a crash of the process alone does not). Leave
	// it false for a node: the SMTP server acknowledges a mail only once
	// its outbox entry is durable.
	NoSync bool
	// MaxEnvelopeSize matters InMemory only, where envelope bytes count in
	// full against badger's transaction limit: the memtable is sized so
	// that one Apply carries two envelopes of this many bytes, and badger
	// allocates about 18 times this up front (148 MiB for the default).
	// 0 means 8 MiB, mesh's default Config.MaxEnvelopeSize; at most
	// envelope.HeaderSize + envelope.MaxCiphertext (1.1 GiB then). On disk
	// it is checked but unused: every envelope the format allows fits in
	// one Apply.
	MaxEnvelopeSize int
}

// Storage tuning. A node's state is small (megabytes to a few gigabytes),
// so on disk the memtables, caches and value-log files are much smaller
// than badger's defaults; envelope chunks of badgerValueThreshold or more
// live in the value log, which small files let garbage collection actually
// reclaim, and cost little of a transaction's budget (see BadgerStore).
//
// In memory, badger keeps every value in the memtable but still refuses a
// value above the value threshold given at open, and v4.9.6 panics on one
// equal to it (it looks for a value-log pointer that was never written).
// So the in-memory threshold is badger's maximum, 1 MiB, strictly above
// badgerChunkSize; and the memtable is sized for MaxEnvelopeSize, since
// badger's transaction limit is 15% of it.
const (
	badgerDefaultGCInterval = 10 * time.Minute
	badgerGCDiscardRatio    = 0.5
	badgerTTLGrace          = int64(time.Hour / time.Second)
	badgerValueThreshold    = 4 << 10
	badgerMemTableSize      = 16 << 20
	badgerBlockCacheSize    = 16 << 20
	badgerValueLogFileSize  = 64 << 20

	badgerMemValueThreshold = 1 << 20
	// badgerDefaultMaxEnvelope is BadgerOptions.MaxEnvelopeSize's default.
	badgerDefaultMaxEnvelope = 8 << 20
	// badgerMemRecordRoom is what an in-memory transaction keeps for
	// records besides two largest envelopes.
	badgerMemRecordRoom = 1 << 20
	// badgerEntryCost is what badger counts for an entry besides its key
	// and value: 2 bytes of metas and 10 of key version.
	badgerEntryCost = 12

	// badgerExpireChunk is how many index keys one Expire transaction
	// handles, and badgerExpireOps about how many deletions (records,
	// envelope chunks and index keys), so that a large sweep never exceeds
	// badger's transaction limits: a deletion costs about 50 bytes, and a
	// record at most 131 deletions.
	badgerExpireChunk = 1000
	badgerExpireOps   = 10000
)

// Every chunk must be strictly below the in-memory value threshold: this
// constant overflows, and the build fails, if it is not.
const _ = uint(badgerMemValueThreshold - badgerChunkSize - 1)

// badgerMemTableFor returns the in-memory memtable size that lets one
// transaction carry two envelopes of maxEnv bytes and badgerMemRecordRoom.
func badgerMemTableFor(maxEnv int) int64 {
	perEnv := int64(maxEnv) + int64(badgerChunkCount(maxEnv))*(badgerChunkKeySize+badgerEntryCost)
	budget := 2*perEnv + badgerMemRecordRoom
	// badger's limit is 15*size/100, and a transaction must stay below it.
	size := (budget*100)/15 + 1
	size = (size + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
	return max(size, badgerMemTableSize)
}

var _ Store = (*BadgerStore)(nil)

// OpenBadgerStore opens (or creates) the store described by opts.
func OpenBadgerStore(opts BadgerOptions) (*BadgerStore, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxEnv := opts.MaxEnvelopeSize
	switch {
	case maxEnv == 0:
		maxEnv = badgerDefaultMaxEnvelope
	case maxEnv < envelope.HeaderSize || maxEnv > badgerMaxEnvelope:
		return nil, fmt.Errorf("mesh: badger store: MaxEnvelopeSize %d is not in %d..%d", maxEnv, envelope.HeaderSize, badgerMaxEnvelope)
	}
	var bo badger.Options
	if opts.InMemory {
		bo = badger.DefaultOptions("").
			WithInMemory(true).
			WithValueThreshold(badgerMemValueThreshold).
			WithMemTableSize(badgerMemTableFor(maxEnv))
	} else {
		if opts.Dir == "" {
			return nil, errors.New("mesh: badger store: no directory given (set BadgerOptions.Dir)")
		}
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("mesh: badger store: %w", err)
		}
		bo = badger.DefaultOptions(opts.Dir).
			WithSyncWrites(!opts.NoSync).
			WithValueLogFileSize(badgerValueLogFileSize).
			WithValueThreshold(badgerValueThreshold).
			WithMemTableSize(badgerMemTableSize)
	}
	bo = bo.
		WithLogger(nil).
		WithMetricsEnabled(false).
		WithCompression(options.None). // envelopes are ciphertext
		WithBlockCacheSize(badgerBlockCacheSize).
		WithDetectConflicts(false) // writeMu serialises writers
	if opts.Logger != nil {
		bo = bo.WithLogger(badgerLogger{opts.Logger})
	}
	db, err := badger.Open(bo)
	if err != nil {
		if opts.InMemory {
			return nil, fmt.Errorf("mesh: opening in-memory badger store: %w", err)
		}
		return nil, fmt.Errorf("mesh: opening badger store in %s: %w", opts.Dir, err)
	}
	s := &BadgerStore{
		db:          db,
		log:         log,
		inMemory:    opts.InMemory,
		wallNow:     time.Now,
		maxEnvelope: maxEnv,
		expireOps:   badgerExpireOps,
		stopGC:      make(chan struct{}),
		gcDone:      make(chan struct{}),
	}
	s.gate.idle.L = &s.gate.mu
	if err := s.checkSchema(); err != nil {
		db.Close()
		return nil, err
	}
	interval := opts.GCInterval
	if interval == 0 {
		interval = badgerDefaultGCInterval
	}
	if interval > 0 && !opts.InMemory {
		go s.gcLoop(interval)
	} else {
		close(s.gcDone)
	}
	return s, nil
}

// checkSchema writes the schema version into a new store and refuses a
// store written with another layout.
func (s *BadgerStore) checkSchema() error {
	key := []byte{badgerPrefixVersion}
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(key, []byte{badgerSchema})
		}
		if err != nil {
			return fmt.Errorf("mesh: badger store: reading schema version: %w", err)
		}
		return item.Value(func(v []byte) error {
			switch {
			case len(v) == 1 && v[0] == badgerSchema:
				return nil
			case len(v) == 1 && v[0] < badgerSchema:
				return fmt.Errorf("mesh: badger store has schema %d, from an older toxmail; this one reads only schema %d and cannot convert it (envelopes are now stored in chunks): move the directory aside and start afresh", v[0], badgerSchema)
			case len(v) == 1:
				return fmt.Errorf("mesh: badger store has schema %d, this toxmail reads %d: use a newer toxmail or another directory", v[0], badgerSchema)
			}
			return fmt.Errorf("mesh: badger store has a malformed schema version %x, this toxmail reads %d: use another directory", v, badgerSchema)
		})
	})
}

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
	txn  *badger.Txn
	wall int64 // real time, Unix seconds, for TTL decisions only
	log  *slog.Logger
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
	case OpPutAck:
		if err := w.putRecord(badgerPrefixAck, op.ID, op.Ack.Expiry, badgerEncodeAck(&op.Ack), true); err != nil {
			return err
		}
		return w.markSeen(op.ID, op.Ack.Expiry)
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
	return w.putRecord(badgerPrefixSeen, id, expiry, badgerEncodeSeen(expiry), true)
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
		return badgerDecodeSeen(raw)
	case badgerPrefixAck:
		a, err := badgerDecodeAck(raw)
		return a.Expiry, err
	case badgerPrefixOutbox:
		o, err := badgerDecodeOutbox(raw)
		return o.Expiry, err
	}
	return 0, fmt.Errorf("%w: no record kind %#x", errBadgerCorrupt, kind)
}

// Envelope implements Store. The returned slice is the caller's.
func (s *BadgerStore) Envelope(id envelope.ID) ([]byte, error) {
	if err := s.gate.enter(); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	var env []byte
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		env, err = badgerReadEnvelope(txn, id)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("mesh: badger store: reading envelope %s: %w", id.Short(), err)
	}
	return env, err
}

// badgerReadEnvelope reassembles a held envelope from its chunks, checking
// each against the length in the held record.
func badgerReadEnvelope(txn *badger.Txn, id envelope.ID) ([]byte, error) {
	raw, err := badgerGet(txn, badgerKey(badgerPrefixHeld, id))
	if err != nil {
		return nil, err
	}
	_, envLen, err := badgerDecodeHeld(raw)
	if err != nil {
		return nil, err
	}
	env := make([]byte, envLen)
	n := badgerChunkCount(envLen)
	for i := range n {
		lo, hi := badgerChunkBounds(i, envLen)
		item, err := txn.Get(badgerChunkKey(id, i))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: chunk %d of %d is missing", errBadgerCorrupt, i, n)
		}
		if err != nil {
			return nil, err
		}
		err = item.Value(func(v []byte) error {
			if len(v) != hi-lo {
				return fmt.Errorf("%w: chunk %d of %d has %d bytes, want %d", errBadgerCorrupt, i, n, len(v), hi-lo)
			}
			copy(env[lo:], v)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return env, nil
}

// Seen implements Store with a single look-up.
func (s *BadgerStore) Seen(id envelope.ID) (bool, error) {
	if err := s.gate.enter(); err != nil {
		return false, err
	}
	defer s.gate.leave()
	seen := false
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(badgerKey(badgerPrefixSeen, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		seen = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mesh: badger store: reading seen %s: %w", id.Short(), err)
	}
	return seen, nil
}

// Load implements Store. It walks one consistent snapshot, held envelopes
// first, then acks, then the outbox, each in ID order. The functions may
// call the store's other methods, but not Close.
func (s *BadgerStore) Load(held func(HeldMeta) error, ack func(AckRecord) error, outbox func(OutboxEntry) error) error {
	if err := s.gate.enter(); err != nil {
		return err
	}
	defer s.gate.leave()
	return s.db.View(func(txn *badger.Txn) error {
		if held != nil {
			err := badgerWalk(txn, badgerPrefixHeld, func(id envelope.ID, v []byte) error {
				m, _, err := badgerDecodeHeld(v)
				if err == nil && m.ID != id {
					err = fmt.Errorf("%w: held record names ID %s", errBadgerCorrupt, m.ID.Short())
				}
				if err != nil {
					return fmt.Errorf("mesh: badger store: held envelope %s: %w", id.Short(), err)
				}
				return held(m)
			})
			if err != nil {
				return err
			}
		}
		if ack != nil {
			err := badgerWalk(txn, badgerPrefixAck, func(id envelope.ID, v []byte) error {
				a, err := badgerDecodeAck(v)
				if err == nil && a.Ack.ID != id {
					err = fmt.Errorf("%w: ack record names ID %s", errBadgerCorrupt, a.Ack.ID.Short())
				}
				if err != nil {
					return fmt.Errorf("mesh: badger store: ack %s: %w", id.Short(), err)
				}
				return ack(a)
			})
			if err != nil {
				return err
			}
		}
		if outbox != nil {
			return badgerWalk(txn, badgerPrefixOutbox, func(id envelope.ID, v []byte) error {
				o, err := badgerDecodeOutbox(v)
				if err == nil && o.ID != id {
					err = fmt.Errorf("%w: outbox record names ID %s", errBadgerCorrupt, o.ID.Short())
				}
				if err != nil {
					return fmt.Errorf("mesh: badger store: outbox entry %s: %w", id.Short(), err)
				}
				return outbox(o)
			})
		}
		return nil
	})
}

// badgerWalk calls fn for every prefix|id record, in key order.
func badgerWalk(txn *badger.Txn, prefix byte, fn func(envelope.ID, []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: []byte{prefix}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		id, err := badgerIDFromKey(item.Key())
		if err != nil {
			return fmt.Errorf("mesh: badger store: %w", err)
		}
		if err := item.Value(func(v []byte) error { return fn(id, v) }); err != nil {
			return err
		}
	}
	return nil
}

// Expire implements Store. It walks only the expired head of each kind's
// expiry index, in transactions of at most badgerExpireChunk records and
// about badgerExpireOps deletions. If it fails, what earlier transactions
// removed stays removed and is counted.
func (s *BadgerStore) Expire(now, retention int64) (int, error) {
	if err := s.gate.enter(); err != nil {
		return 0, err
	}
	defer s.gate.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	n := 0
	for _, k := range [...]struct {
		kind   byte
		cutoff int64
	}{
		{badgerPrefixHeld, now},
		{badgerPrefixSeen, now},
		{badgerPrefixAck, now},
		{badgerPrefixOutbox, badgerSubSat(now, retention)},
	} {
		for {
			removed, more, err := s.expireChunk(k.kind, k.cutoff)
			n += removed
			if err != nil {
				return n, fmt.Errorf("mesh: badger store: expire: %w", err)
			}
			if !more {
				break
			}
		}
	}
	return n, nil
}

// expireChunk removes up to badgerExpireChunk records of kind whose expiry
// is at or before cutoff, stopping early once it has made s.expireOps
// deletions, and reports whether there may be more.
func (s *BadgerStore) expireChunk(kind byte, cutoff int64) (removed int, more bool, err error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()

	prefix := []byte{badgerPrefixIndex, kind}
	var keys [][]byte
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Rewind(); it.Valid() && len(keys) < badgerExpireChunk; it.Next() {
		k := it.Item().KeyCopy(nil)
		_, exp, _, perr := badgerParseIndexKey(k)
		if perr == nil && exp > cutoff {
			break
		}
		keys = append(keys, k) // expired, or a corrupt index key to drop
	}
	it.Close()

	ops, done := 0, 0
	for _, ik := range keys {
		if ops >= s.expireOps {
			break // the rest in the next transaction
		}
		done++
		_, exp, id, perr := badgerParseIndexKey(ik)
		if perr == nil {
			key := badgerKey(kind, id)
			raw, err := badgerGet(txn, key)
			switch {
			case errors.Is(err, ErrNotFound):
				// stale index key
			case err != nil:
				return 0, false, err
			default:
				rexp, derr := badgerRecordExpiry(kind, raw)
				if derr != nil {
					s.log.Warn("expiring a corrupt store record", "key", fmt.Sprintf("%x", key), "err", derr)
				} else if rexp != exp {
					break // stale index key: the record has its own
				}
				if err := txn.Delete(key); err != nil {
					return 0, false, err
				}
				ops++
				if kind == badgerPrefixHeld {
					chunks := -1 // a corrupt record: look for its chunks
					if _, envLen, err := badgerDecodeHeld(raw); err == nil {
						chunks = badgerChunkCount(envLen)
					}
					n, err := badgerDeleteChunks(txn, id, 0, chunks)
					if err != nil {
						return 0, false, err
					}
					ops += n
				}
				removed++
			}
		}
		if err := txn.Delete(ik); err != nil {
			return 0, false, err
		}
		ops++
	}
	if len(keys) == 0 {
		return 0, false, nil
	}
	if err := txn.Commit(); err != nil {
		return 0, false, err
	}
	return removed, done < len(keys) || len(keys) == badgerExpireChunk, nil
}

// badgerSubSat returns a-b, saturated to the int64 range.
func badgerSubSat(a, b int64) int64 {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return d
}

// RunGC garbage-collects the value log until there is nothing worth
// rewriting. It is a no-op for an in-memory store.
func (s *BadgerStore) RunGC() error {
	if err := s.gate.enter(); err != nil {
		return err
	}
	defer s.gate.leave()
	return s.runGC()
}

func (s *BadgerStore) runGC() error {
	if s.inMemory {
		return nil
	}
	for {
		err := s.db.RunValueLogGC(badgerGCDiscardRatio)
		switch {
		case err == nil:
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return nil
		default:
			return fmt.Errorf("mesh: badger value-log GC: %w", err)
		}
	}
}

func (s *BadgerStore) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
		}
		if err := s.gate.enter(); err != nil {
			return
		}
		if err := s.runGC(); err != nil {
			s.log.Error("value-log GC failed", "err", err)
		}
		s.gate.leave()
	}
}

// Close implements Store. It waits for calls in progress, stops the
// garbage collector and closes the database; closing twice is fine. Every
// other method returns an error after Close.
func (s *BadgerStore) Close() error {
	if !s.gate.close() {
		return nil
	}
	close(s.stopGC)
	<-s.gcDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("mesh: closing badger store: %w", err)
	}
	return nil
}

// badgerGate counts the calls in progress so that Close can wait for them
// without holding a lock they need: a Load callback may call the store.
type badgerGate struct {
	mu     sync.Mutex
	idle   sync.Cond // signalled when users drops to zero
	users  int
	closed bool
}

func (g *badgerGate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errClosed
	}
	g.users++
	return nil
}

func (g *badgerGate) leave() {
	g.mu.Lock()
	g.users--
	if g.users == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// close marks the gate closed and waits until no call is in progress. It
// reports false if the gate was already closed.
func (g *badgerGate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	for g.users > 0 {
		g.idle.Wait()
	}
	return true
}

// badgerLogger passes badger's warnings and errors to slog.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(format string, args ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(format, args...)), "source", "badger")
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(format, args...)), "source", "badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
