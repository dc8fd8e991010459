package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/toxmail/toxmail/inbox"
)

// InboxMaildrop returns the Maildrop of an inbox: its messages in arrival
// order, numbered from 1 by the session; UIDL is the inbox UID.
//
// Each message is served as headers(msg) followed by the stored bytes,
// with line endings normalized to CRLF (a bare LF becomes CRLF; a last
// line without a line ending gets one). Sizes are exactly the octets
// served: List reads each message once to count them (the inbox's
// Message.Size is the stored size, not the served one) and caches the
// count, so create one InboxMaildrop per inbox and return it from the
// POP3Authenticator on every login. headers must return the same bytes for
// the same Message every time (no clock reads); nil means no headers.
//
// All InboxMaildrops of one inbox share one lock (SharedMaildrop), so
// several users mapped to one inbox exclude each other. log (nil:
// discard) hears of a damaged mail, which List leaves out so that the
// others stay readable.
func InboxMaildrop(b *inbox.Inbox, headers func(inbox.Message) []byte, log *slog.Logger) Maildrop {
	if headers == nil {
		headers = func(inbox.Message) []byte { return nil }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &inboxMaildrop{b: b, headers: headers, log: log, sizes: make(map[inboxSizeKey]int64)}
}

type inboxMaildrop struct {
	b       *inbox.Inbox
	headers func(inbox.Message) []byte
	log     *slog.Logger

	mu    sync.Mutex
	sizes map[inboxSizeKey]int64 // served sizes of the messages last listed
}

// inboxSizeKey names one stored mail: a UID could come back after its
// tombstone expired, with other delivery headers, but never with the same
// Seq.
type inboxSizeKey struct {
	uid string
	seq uint64
}

var _ SharedMaildrop = (*inboxMaildrop)(nil)

// LockKey names the inbox.
func (d *inboxMaildrop) LockKey() string { return fmt.Sprintf("inbox %p", d.b) }

// List lists the inbox with served sizes. A mail deleted while List runs
// is left out.
func (d *inboxMaildrop) List() ([]MaildropMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ms, err := d.b.List()
	if err != nil {
		return nil, err
	}
	out := make([]MaildropMessage, 0, len(ms))
	sizes := make(map[inboxSizeKey]int64, len(ms))
	for _, m := range ms {
		k := inboxSizeKey{m.UID, m.Seq}
		size, ok := d.sizes[k]
		if !ok {
			size, err = d.servedSize(m.UID)
			if errors.Is(err, inbox.ErrNotFound) {
				continue
			}
			if errors.Is(err, inbox.ErrCorrupt) {
				// One damaged mail must not lock the user out of
				// the others: it is left out, and said so each time.
				d.log.Error("a stored mail is damaged; POP3 leaves it out (restore the data directory from a backup to recover it)",
					"uid", m.UID, "err", err)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("gateway: size of %s: %w", m.UID, err)
			}
		}
		sizes[k] = size
		out = append(out, MaildropMessage{UID: m.UID, Size: size})
	}
	d.sizes = sizes
	return out, nil
}

// servedSize counts the octets Open serves for uid.
func (d *inboxMaildrop) servedSize(uid string) (int64, error) {
	rc, err := d.Open(uid)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

// Open streams headers and mail, CRLF-normalized.
func (d *inboxMaildrop) Open(uid string) (io.ReadCloser, error) {
	m, body, err := d.b.Reader(uid)
	if err != nil {
		return nil, err
	}
	r := io.MultiReader(bytes.NewReader(d.headers(m)), body)
	return pop3ReadCloser{Reader: newPOP3CRLFReader(r), Closer: body}, nil
}

// maildropDeleteBatch is how many mails one inbox transaction deletes.
// Each costs four writes, and badger refuses a transaction past its size
// limit (about 6,000 mails for an inbox on disk), so a client that empties
// a large maildrop must not need them all in one.
const maildropDeleteBatch = 2000

// Delete deletes the mails from the inbox, maildropDeleteBatch at a time,
// each batch all or none. A mail already gone (deleted by another session
// meanwhile) counts as deleted: it must not keep the others from going.
// On an error the batches before it are deleted and the rest are kept.
func (d *inboxMaildrop) Delete(uids ...string) error {
	for len(uids) > 0 {
		n := min(len(uids), maildropDeleteBatch)
		if err := d.deleteBatch(uids[:n]); err != nil {
			return err
		}
		uids = uids[n:]
	}
	return nil
}

func (d *inboxMaildrop) deleteBatch(uids []string) error {
	err := d.b.Delete(uids...)
	if !errors.Is(err, inbox.ErrNotFound) {
		return err
	}
	list, lerr := d.b.List()
	if lerr != nil {
		return err
	}
	present := make(map[string]bool, len(list))
	for _, m := range list {
		present[m.UID] = true
	}
	var still []string
	for _, u := range uids {
		if present[u] {
			still = append(still, u)
		}
	}
	if len(still) == 0 {
		return nil
	}
	return d.b.Delete(still...)
}

// pop3ReadCloser joins a Reader and the Closer of what it reads.
type pop3ReadCloser struct {
	io.Reader
	io.Closer
}
