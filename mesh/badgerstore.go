package mesh

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/internal/badgerdir"
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
//	's' | id                       → seen record        (expiry; the ack hash of an evicted envelope)
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
	seen    badgerSeenBound // under writeMu; see badgerstore_seen.go

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
	// MaxSeen bounds the IDs in the seen set (about 120 bytes of disk
	// each). Past it, the IDs expiring soonest are forgotten: after each
	// Apply (up to badgerExpireChunk at a time) and, all the way down to
	// MaxSeen, by Expire. 0 means no bound (mesh's Config.MaxSeen is the
	// node's default). See badgerstore_seen.go.
	MaxSeen int
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
	if opts.MaxSeen < 0 {
		return nil, fmt.Errorf("mesh: badger store: MaxSeen %d is negative", opts.MaxSeen)
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
		if err := badgerdir.Prepare(opts.Dir, log); err != nil {
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
	s.seen.max = opts.MaxSeen
	if err := s.countSeen(); err != nil {
		db.Close()
		return nil, fmt.Errorf("mesh: badger store: counting the seen set: %w", err)
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

// EvictedAckHash implements Store.
func (s *BadgerStore) EvictedAckHash(id envelope.ID) ([envelope.AckHashSize]byte, int64, bool, error) {
	if err := s.gate.enter(); err != nil {
		return [envelope.AckHashSize]byte{}, 0, false, err
	}
	defer s.gate.leave()
	var rec badgerSeen
	err := s.db.View(func(txn *badger.Txn) error {
		raw, err := badgerGet(txn, badgerKey(badgerPrefixSeen, id))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec, err = badgerDecodeSeen(raw)
		return err
	})
	if err != nil {
		return [envelope.AckHashSize]byte{}, 0, false, fmt.Errorf("mesh: badger store: reading seen %s: %w", id.Short(), err)
	}
	return rec.ackHash, rec.expiry, rec.evicted, nil
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

// Warningf logs badger's warnings, but its advice to grow the block cache
// (sized small on purpose; see the storage tuning) only at debug level: it
// comes every minute under load, with a many-line histogram.
func (b badgerLogger) Warningf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if badgerCacheAdvice(msg) {
		b.l.Debug(msg, "source", "badger")
		return
	}
	b.l.Warn(msg, "source", "badger")
}

// badgerCacheAdvice reports whether msg is badger's periodic cache advice
// ("Block cache might be too small. Metrics: …" and the histogram after it).
func badgerCacheAdvice(msg string) bool {
	return strings.Contains(msg, "might be too small. Metrics:") || strings.HasPrefix(msg, "Cache life expectancy")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
