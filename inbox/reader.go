package inbox

import (
	"errors"
	"fmt"
	"io"

	"github.com/dgraph-io/badger/v4"
)

// readChunk returns chunk i of s's body, checking its length.
func readChunk(txn *badger.Txn, s stored, i int64) ([]byte, error) {
	v, err := getValue(txn, chunkKey(s.body, i))
	if err != nil {
		return nil, err
	}
	if want := s.chunkLen(i); len(v) != want {
		return nil, corrupt("body", "%s chunk %d has %d bytes, want %d", s.UID, i, len(v), want)
	}
	return v, nil
}

// bodyReader streams a body one chunk at a time, each read in its own
// transaction, so that no transaction stays open while a slow client reads.
// Bodies are never modified, so the bytes are the same whenever read; a
// chunk that has gone means the mail was deleted.
type bodyReader struct {
	b      *Inbox
	s      stored
	next   int64  // next chunk to fetch
	cur    []byte // unread rest of the current chunk
	closed bool
}

var _ io.ReadCloser = (*bodyReader)(nil)

var errReaderClosed = errors.New("inbox: read after Close")

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errReaderClosed
	}
	for len(r.cur) == 0 {
		if r.next >= r.s.chunks() {
			return 0, io.EOF
		}
		if err := r.fetch(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *bodyReader) fetch() error {
	if err := r.b.acquire(); err != nil {
		return err
	}
	defer r.b.release()
	return r.b.db.View(func(txn *badger.Txn) error {
		chunk, err := readChunk(txn, r.s, r.next)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %s was deleted while being read", ErrNotFound, r.s.UID)
		}
		if err != nil {
			return err
		}
		r.cur = chunk
		r.next++
		return nil
	})
}

// Close releases the reader. It never fails.
func (r *bodyReader) Close() error {
	r.closed = true
	r.cur = nil
	return nil
}
