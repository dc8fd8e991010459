package inbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/toxmail/toxmail/internal/badgerdir"
)

// DefaultMaxMessageSize is the MaxMessageSize used when Options leaves it 0.
const DefaultMaxMessageSize = 64 << 20

// Options configures [Open].
type Options struct {
	// Dir is the badger directory. It is created with mode 0700 if missing.
	Dir string

	// InMemory keeps everything in memory (for tests); Dir is ignored.
	InMemory bool

	// Logger receives the inbox's own log and badger's warnings and errors.
	// Nil discards.
	Logger *slog.Logger

	// Now is the clock for Received times and tombstone expiry. Nil means
	// time.Now.
	Now func() time.Time

	// MaxMessageSize is the largest mail, in bytes, that Write accepts;
	// past it Write fails with ErrTooLarge. 0 means DefaultMaxMessageSize.
	MaxMessageSize int64

	// Quota is the most bytes of mail the inbox stores at once: a delivery
	// that would take the stored mail past it fails with ErrOverQuota and
	// stores nothing, unless it is exempt ([Delivery.ExemptFromQuota]).
	// Deleting mail makes room. 0 means no limit.
	Quota int64

	// OnDelete, if set, is called after each Delete that removed mail,
	// outside the inbox's locks: there may be room for mail it refused.
	OnDelete func()

	// tune, if set, adjusts badger's options (tests).
	tune func(badger.Options) badger.Options
}

// Meta is what the node knows about a mail besides its bytes.
//
// Times come back from the inbox in UTC, without a monotonic clock reading;
// compare them with time.Time.Equal.
type Meta struct {
	// Sender is the verified sender's public key.
	Sender [32]byte

	// PathLength is the number of friend links the envelope travelled,
	// 0 to MaxPathLength.
	PathLength int

	// Created is when the sender says it sealed the envelope.
	Created time.Time

	// KeepUntil is the envelope's expiry. The record that suppresses a
	// second delivery of the envelope lives at least this long, even after
	// the mail is deleted. It must not be zero.
	KeepUntil time.Time
}

// Message is one stored mail as listed.
type Message struct {
	// Seq is the arrival (commit) order: strictly increasing, never reused,
	// starting at 1.
	Seq uint64

	// UID is the stable unique ID: 64 lower-case hex digits of Envelope.
	UID string

	// Envelope is the ID of the envelope the mail arrived in.
	Envelope EnvelopeID

	// Size is the number of bytes of the stored mail.
	Size int64

	// Received is when the mail was committed, by Options.Now.
	Received time.Time

	// Meta is what was passed to Begin.
	Meta Meta
}

// Inbox is the durable mailbox. It is safe for concurrent use.
type Inbox struct {
	db       *badger.DB
	bodies   *badger.Sequence
	log      *slog.Logger
	clock    func() time.Time
	max      int64
	quota    int64
	inMemory bool
	onDelete func()

	// closeMu guards closed. Every operation holds it for reading while it
	// uses db, so Close waits for them; nothing holds it twice.
	closeMu sync.RWMutex
	closed  bool

	// writeMu serialises the transactions that touch the index, tombstones
	// or the Seq counter (commit, Delete, Expire), so they never conflict.
	writeMu sync.Mutex

	// usageMu guards the totals below. They change only with writeMu held
	// as well, so code that holds writeMu reads them without usageMu, and
	// Usage takes only usageMu: a status page does not wait for a long
	// commit or Delete.
	usageMu sync.Mutex
	used    int64 // bytes of the stored mail, the sum of their Sizes
	mails   int   // how many are stored
	// refused holds the sizes of the mails refused for want of room since
	// the last Delete (at most maxRefused of them).
	refused map[EnvelopeID]int64
}

// Open opens (or creates) the inbox described by opts and finishes the
// clean-up of any delivery or deletion a crash interrupted.
func Open(opts Options) (*Inbox, error) {
	b := &Inbox{
		log:      opts.Logger,
		clock:    opts.Now,
		max:      opts.MaxMessageSize,
		quota:    opts.Quota,
		inMemory: opts.InMemory,
		onDelete: opts.OnDelete,
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.clock == nil {
		b.clock = time.Now
	}
	switch {
	case b.max < 0 || b.max > maxStoredSize:
		return nil, fmt.Errorf("inbox: MaxMessageSize %d out of range [0, %d]", b.max, int64(maxStoredSize))
	case b.max == 0:
		b.max = DefaultMaxMessageSize
	}
	if b.quota < 0 {
		return nil, fmt.Errorf("inbox: Quota %d is negative", b.quota)
	}
	var bo badger.Options
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if opts.Dir == "" {
			return nil, errors.New("inbox: Options.Dir is empty and InMemory is not set")
		}
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		if err := badgerdir.Prepare(opts.Dir, b.log); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		bo = badger.DefaultOptions(opts.Dir).
			WithSyncWrites(true).
			WithValueThreshold(1 << 10).            // bodies to the value log, records in the LSM tree
			WithValueLogFileSize(64 << 20).         // small files so GC can reclaim deleted mail
			WithMemTableSize(diskMemTableSize).     // see the constant
			WithBlockCacheSize(diskBlockCacheSize). // records only: bodies are read from the value log
			WithNumCompactors(2)                    // the fewest badger allows; an inbox writes little
	}
	bo = bo.WithLogger(badgerLogger{b.log}).WithLoggingLevel(badger.WARNING)
	if opts.tune != nil {
		bo = opts.tune(bo)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("inbox: open %s: %w", opts.Dir, err)
	}
	b.db = db
	if err := b.init(); err != nil {
		db.Close()
		return nil, err
	}
	return b, nil
}

// init checks the schema, leases body IDs and purges bodies left pending.
func (b *Inbox) init() error {
	if err := checkSchema(b.db); err != nil {
		return err
	}
	seq, err := b.db.GetSequence(keyBodySeq, 64)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	b.bodies = seq
	pending, err := pendingBodies(b.db)
	if err != nil {
		seq.Release()
		return fmt.Errorf("inbox: recover: %w", err)
	}
	for _, p := range pending {
		if err := purgeBody(b.db, p.body); err != nil {
			seq.Release()
			return fmt.Errorf("inbox: recover: purge body %d: %w", p.body, err)
		}
		if p.reason == pendingStaged {
			b.log.Info("inbox: removed the partial body of an interrupted delivery", "body", p.body)
		}
	}
	// A record that cannot be read is logged and left out of the totals
	// (its size is unknown) rather than keep the node from starting; List
	// still reports it.
	b.mails, b.used, err = b.stats(func(seq uint64, err error) {
		b.log.Error("inbox: a stored mail cannot be read; it is not counted towards the quota", "seq", seq, "err", err)
	})
	if err != nil {
		seq.Release()
		return fmt.Errorf("inbox: counting the stored mail: %w", err)
	}
	return nil
}

// Close closes the inbox. Deliveries still open are lost (their staged data
// is removed by the next Open). Closing twice returns nil.
func (b *Inbox) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return errors.Join(b.bodies.Release(), b.db.Close())
}

// acquire takes closeMu for reading, or returns ErrClosed.
func (b *Inbox) acquire() error {
	b.closeMu.RLock()
	if b.closed {
		b.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (b *Inbox) release() { b.closeMu.RUnlock() }

// Deliver stores data as the mail of envelope id: Begin, Write and Commit in
// one call. added is false if id was already delivered. A mail that does
// not fit under Options.Quota fails with ErrOverQuota before anything of
// it is written.
func (b *Inbox) Deliver(id EnvelopeID, meta Meta, data []byte) (added bool, err error) {
	return b.deliver(id, meta, data, false, false)
}

// DeliverExempt is Deliver for mail exempt from Options.Quota (see
// [Delivery.ExemptFromQuota]).
func (b *Inbox) DeliverExempt(id EnvelopeID, meta Meta, data []byte) (added bool, err error) {
	return b.deliver(id, meta, data, true, false)
}

// DeliverNoWait is Deliver for mail that is lost if refused (see
// [Delivery.WillNotWait]).
func (b *Inbox) DeliverNoWait(id EnvelopeID, meta Meta, data []byte) (added bool, err error) {
	return b.deliver(id, meta, data, false, true)
}

func (b *Inbox) deliver(id EnvelopeID, meta Meta, data []byte, exempt, noWait bool) (added bool, err error) {
	d, err := b.Begin(id, meta)
	if err != nil {
		return false, err
	}
	if exempt {
		d.ExemptFromQuota()
	}
	if noWait {
		d.WillNotWait()
	}
	if err := d.Expect(int64(len(data))); err != nil {
		d.Abort()
		return false, err
	}
	if _, err := d.Write(data); err != nil {
		d.Abort()
		return false, err
	}
	return d.Commit()
}

// Has reports whether envelope id was delivered: its mail is stored, or was
// deleted and KeepUntil has not passed.
func (b *Inbox) Has(id EnvelopeID) (bool, error) {
	if err := b.acquire(); err != nil {
		return false, err
	}
	defer b.release()
	var ok bool
	err := b.db.View(func(txn *badger.Txn) (err error) {
		ok, err = delivered(txn, id, b.clock(), false)
		return err
	})
	return ok, err
}

// List returns every stored mail, ordered by Seq.
func (b *Inbox) List() ([]Message, error) {
	var ms []Message
	err := b.scan(func(s stored) { ms = append(ms, s.Message) })
	return ms, err
}

// Stats returns the number of stored mails and their total size.
func (b *Inbox) Stats() (count int, bytes int64, err error) {
	if err := b.acquire(); err != nil {
		return 0, 0, err
	}
	defer b.release()
	return b.stats(nil)
}

// stats adds up the message records; bad, if not nil, is given each one
// that fails to decode, which is then left out (else it fails stats).
func (b *Inbox) stats(bad func(seq uint64, err error)) (count int, bytes int64, err error) {
	err = b.scanRecords(func(s stored) {
		count++
		bytes += s.Size
	}, bad)
	return count, bytes, err
}

// scan calls f for every message record in Seq order.
func (b *Inbox) scan(f func(stored)) error {
	if err := b.acquire(); err != nil {
		return err
	}
	defer b.release()
	return b.scanLocked(f)
}

// scanLocked is scan for a caller that holds closeMu for reading (or, in
// Open, has not yet returned the Inbox).
func (b *Inbox) scanLocked(f func(stored)) error { return b.scanRecords(f, nil) }

// scanRecords is scanLocked that, when bad is not nil, passes it each
// record that fails to decode and goes on.
func (b *Inbox) scanRecords(f func(stored), bad func(seq uint64, err error)) error {
	return b.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixMessage}, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, err := seqFromKey(it.Item().Key())
			if err != nil {
				return err
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			s, err := decodeMessage(seq, v)
			if err != nil && bad != nil {
				bad(seq, err)
				continue
			}
			if err != nil {
				return err
			}
			f(s)
		}
		return nil
	})
}

// Get returns the mail with the given UID and all of its bytes, or
// ErrNotFound.
func (b *Inbox) Get(uid string) (Message, []byte, error) {
	id, err := parseForLookup(uid)
	if err != nil {
		return Message{}, nil, err
	}
	if err := b.acquire(); err != nil {
		return Message{}, nil, err
	}
	defer b.release()
	var s stored
	var data []byte
	err = b.db.View(func(txn *badger.Txn) error {
		if s, err = lookup(txn, id); err != nil {
			return err
		}
		data = make([]byte, 0, min(s.Size, maxChunkSize)) // a corrupt Size must not allocate a TiB
		for i := range s.chunks() {
			chunk, err := readChunk(txn, s, i)
			if errors.Is(err, ErrNotFound) {
				return corrupt("body", "%s lacks chunk %d", s.UID, i)
			}
			if err != nil {
				return err
			}
			data = append(data, chunk...)
		}
		return nil
	})
	if err != nil {
		return Message{}, nil, notFound(err, uid)
	}
	return s.Message, data, nil
}

// Reader returns the mail with the given UID and a reader of its bytes, or
// ErrNotFound. The reader fetches one chunk (512 KiB) at a time; if the mail is
// deleted while it is read, Read fails with ErrNotFound. Close it when done.
func (b *Inbox) Reader(uid string) (Message, io.ReadCloser, error) {
	id, err := parseForLookup(uid)
	if err != nil {
		return Message{}, nil, err
	}
	if err := b.acquire(); err != nil {
		return Message{}, nil, err
	}
	defer b.release()
	var s stored
	err = b.db.View(func(txn *badger.Txn) (err error) {
		s, err = lookup(txn, id)
		return err
	})
	if err != nil {
		return Message{}, nil, notFound(err, uid)
	}
	return s.Message, &bodyReader{b: b, s: s}, nil
}

// parseForLookup parses uid; a malformed UID names no mail.
func parseForLookup(uid string) (EnvelopeID, error) {
	id, err := ParseUID(uid)
	if err != nil {
		return id, fmt.Errorf("%w: %q: %v", ErrNotFound, uid, err)
	}
	return id, nil
}

// notFound names uid in an ErrNotFound and passes other errors through.
func notFound(err error, uid string) error {
	// lookup returns ErrNotFound itself, never wrapped.
	if err == ErrNotFound {
		return fmt.Errorf("%w: %s", ErrNotFound, uid)
	}
	return err
}
