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
// Key layout. Every key starts with a one-byte prefix; ids are the 32-byte
// envelope IDs; times are Unix seconds as 8 big-endian bytes with the sign
// bit flipped, so that keys sort by time:
//
//	'v'                            → schema version (1 byte, currently 1)
//	'h' | id                       → held meta record   (HeldMeta)
//	'e' | id                       → held envelope bytes (the wire format)
//	's' | id                       → seen record        (expiry)
//	'a' | id                       → ack record         (AckRecord)
//	'o' | id                       → outbox record      (OutboxEntry)
//	'x' | kind | expiry | id       → empty: the expiry index
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
}

// Storage tuning. A node's state is small (megabytes to a few gigabytes),
// so the memtables, caches and value-log files are much smaller than
// badger's defaults; envelope bodies above badgerValueThreshold live in the
// value log, which small files let garbage collection actually reclaim.
const (
	badgerDefaultGCInterval = 10 * time.Minute
	badgerGCDiscardRatio    = 0.5
	badgerTTLGrace          = int64(time.Hour / time.Second)
	badgerValueThreshold    = 4 << 10
	badgerMemTableSize      = 16 << 20
	badgerBlockCacheSize    = 16 << 20
	badgerValueLogFileSize  = 64 << 20
	// badgerExpireChunk is how many index keys one Expire transaction
	// handles, so that a large sweep never exceeds badger's transaction
	// limits.
	badgerExpireChunk = 1000
)

var _ Store = (*BadgerStore)(nil)

// OpenBadgerStore opens (or creates) the store described by opts.
func OpenBadgerStore(opts BadgerOptions) (*BadgerStore, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var bo badger.Options
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if opts.Dir == "" {
			return nil, errors.New("mesh: badger store: no directory given (set BadgerOptions.Dir)")
		}
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("mesh: badger store: %w", err)
		}
		bo = badger.DefaultOptions(opts.Dir).
			WithSyncWrites(!opts.NoSync).
			WithValueLogFileSize(badgerValueLogFileSize)
	}
	bo = bo.
		WithLogger(nil).
		WithMetricsEnabled(false).
		WithCompression(options.None). // envelopes are ciphertext
		WithValueThreshold(badgerValueThreshold).
		WithMemTableSize(badgerMemTableSize).
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
		db:       db,
		log:      log,
		inMemory: opts.InMemory,
		wallNow:  time.Now,
		stopGC:   make(chan struct{}),
		gcDone:   make(chan struct{}),
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
			if len(v) != 1 || v[0] != badgerSchema {
				return fmt.Errorf("mesh: badger store has schema %x, this toxmail reads %d: use a newer toxmail or another directory", v, badgerSchema)
			}
			return nil
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
			return badgerBatchError(b, err, fmt.Sprintf("operation %d of %d", i+1, len(b.Ops)))
		}
	}
	if err := w.txn.Commit(); err != nil {
		return badgerBatchError(b, err, "commit")
	}
	return nil
}

func badgerBatchError(b *Batch, err error, where string) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("mesh: badger store: batch of %d operations is too big for one transaction; apply it in smaller batches: %w", len(b.Ops), err)
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

func (w *badgerWriter) putHeld(id envelope.ID, m *HeldMeta, env []byte) error {
	if err := w.putRecord(badgerPrefixHeld, id, m.Expiry, badgerEncodeHeld(m), true); err != nil {
		return err
	}
	if err := w.txn.SetEntry(w.entry(badgerKey(badgerPrefixEnv, id), env, m.Expiry, true)); err != nil {
		return err
	}
	return w.markSeen(id, m.Expiry)
}

func (w *badgerWriter) deleteHeld(id envelope.ID) error {
	key := badgerKey(badgerPrefixHeld, id)
	old, ok, err := w.oldExpiry(badgerPrefixHeld, key)
	if err != nil || !ok {
		return err
	}
	if old.indexed {
		if err := w.txn.Delete(badgerIndexKey(badgerPrefixHeld, old.expiry, id)); err != nil {
			return err
		}
	}
	if err := w.txn.Delete(key); err != nil {
		return err
	}
	return w.txn.Delete(badgerKey(badgerPrefixEnv, id))
}

func (w *badgerWriter) setHops(id envelope.ID, hops uint8) error {
	key := badgerKey(badgerPrefixHeld, id)
	raw, err := w.get(key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("set hops of held envelope %s: %w", id.Short(), ErrNotFound)
		}
		return err
	}
	m, err := badgerDecodeHeld(raw)
	if err != nil {
		return fmt.Errorf("held envelope %s: %w", id.Short(), err)
	}
	env, err := w.get(badgerKey(badgerPrefixEnv, id))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: held envelope %s has meta but no bytes", errBadgerCorrupt, id.Short())
		}
		return err
	}
	if len(env) < envelope.HeaderSize {
		return fmt.Errorf("%w: held envelope %s is %d bytes", errBadgerCorrupt, id.Short(), len(env))
	}
	m.Hops = hops
	envelope.SetHops(env, hops) // env is a copy
	if err := w.putRecord(badgerPrefixHeld, id, m.Expiry, badgerEncodeHeld(&m), true); err != nil {
		return err
	}
	return w.txn.SetEntry(w.entry(badgerKey(badgerPrefixEnv, id), env, m.Expiry, true))
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
		m, err := badgerDecodeHeld(raw)
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
		env, err = badgerGet(txn, badgerKey(badgerPrefixEnv, id))
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("mesh: badger store: reading envelope %s: %w", id.Short(), err)
	}
	return env, err
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
				m, err := badgerDecodeHeld(v)
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
// expiry index, in transactions of at most badgerExpireChunk records. If it
// fails, what earlier transactions removed stays removed and is counted.
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
// is at or before cutoff, and reports whether there may be more.
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

	for _, ik := range keys {
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
				if kind == badgerPrefixHeld {
					if err := txn.Delete(badgerKey(badgerPrefixEnv, id)); err != nil {
						return 0, false, err
					}
				}
				removed++
			}
		}
		if err := txn.Delete(ik); err != nil {
			return 0, false, err
		}
	}
	if len(keys) == 0 {
		return 0, false, nil
	}
	if err := txn.Commit(); err != nil {
		return 0, false, err
	}
	return removed, len(keys) == badgerExpireChunk, nil
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
	b.l.Error(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
