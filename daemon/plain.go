package daemon

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/mail"
	"sync"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/tox"
	"golang.org/x/crypto/bcrypt"
)

// plainSender sends mail to friends that are plain Tox clients (qTox, uTox,
// toxic) as text messages: they cannot open envelopes.
type plainSender struct{ d *Daemon }

var _ gateway.PlainSender = plainSender{}

// IsPlain implements gateway.PlainSender.
func (p plainSender) IsPlain(key envelope.PublicKey) bool {
	return p.d.tr.Kind(tox.PublicKey(key)) == tox.PeerPlain
}

// SendMail implements gateway.PlainSender.
func (p plainSender) SendMail(key envelope.PublicKey, raw []byte) error {
	text, err := tox.TextFromMail(raw)
	if err != nil {
		return err
	}
	return p.d.tr.SendText(tox.PublicKey(key), text)
}

// onText stores a text message from a friend in the inbox as a mail. Its
// inbox ID is a hash of sender, time and text, so the same message is
// stored once.
func (d *Daemon) onText(from tox.PublicKey, name, text string) {
	now := time.Now()
	h := sha256.New()
	h.Write([]byte("toxmail text v1\x00"))
	h.Write(from[:])
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(now.UnixNano()))
	h.Write(t[:])
	h.Write([]byte(text))
	var id inbox.EnvelopeID
	copy(id[:], h.Sum(nil))
	msg := tox.MailFromText(from, name, d.ownMailbox(), text, now)
	meta := inbox.Meta{Sender: from, PathLength: 1, Created: now, KeepUntil: now.Add(d.cfg.Mesh.OutboxRetention)}
	if _, err := d.box.DeliverNoWait(id, meta, msg); err != nil {
		// A text message cannot wait in the mesh: Tox has already
		// confirmed it to the friend, who is told otherwise.
		if errors.Is(err, inbox.ErrOverQuota) {
			d.log.Warn("text message lost: the inbox is full (pop3.max_mailbox_bytes); delete mail to receive more", "from", from.Short(), "bytes", len(msg), "err", err)
			d.bounceText(from, "the mailbox is full")
			return
		}
		d.log.Error("text message not stored", "from", from.Short(), "err", err)
		d.bounceText(from, "it could not be stored")
		return
	}
	d.log.Info("text message stored as mail", "from", from.Short(), "bytes", len(msg))
}

// bounceEvery is the least time between two notices to one friend that
// their text messages were not stored, so that a client that answers
// every message cannot start an exchange without end.
const bounceEvery = time.Hour

// bounces remembers when each friend was last told that a text message
// was not stored.
type bounces struct {
	mu   sync.Mutex
	last map[tox.PublicKey]time.Time
}

// due reports whether to may be told now, and if so notes it.
func (b *bounces) due(to tox.PublicKey, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.last[to]; ok && now.Sub(t) < bounceEvery {
		return false
	}
	if b.last == nil {
		b.last = make(map[tox.PublicKey]time.Time)
	}
	for k, t := range b.last {
		if now.Sub(t) >= bounceEvery {
			delete(b.last, k)
		}
	}
	b.last[to] = now
	return true
}

// bounceText tells a friend, at most once an hour, that their text
// message was not stored and why, as a plain Tox client would not learn
// it otherwise: Tox confirmed the message when it arrived.
func (d *Daemon) bounceText(to tox.PublicKey, why string) {
	if !d.bounces.due(to, time.Now()) {
		return
	}
	notice := fmt.Sprintf("[toxmail] Your message was not delivered: %s. It was not kept; please send it again later. (An automatic notice, sent at most once an hour.)", why)
	if err := d.tr.SendText(to, notice); err != nil {
		d.log.Warn("could not tell a friend their text message was not stored", "to", to.Short(), "err", err)
	}
}

// ownMailbox is the To of a text message stored as mail: the node's own
// address, "<Tox ID>@tox", which is what friends write to and what the
// user's mail client has as its address, named after the login user when
// there is one (else the node's name). It stays in the node's own inbox;
// mail that leaves the node is named with gateway.OwnFrom instead.
func (d *Daemon) ownMailbox() string {
	name := d.cfg.Name
	if len(d.cfg.SMTP.Users) == 1 {
		name = d.cfg.SMTP.Users[0].Name
	}
	return (&mail.Address{Name: name, Address: d.ToxID().Address()}).String()
}

// checkPassword compares a login against the configured bcrypt hashes in
// constant time per hash; an unknown user costs a comparison too.
func checkPassword(users map[string]string, user, pass string) bool {
	hash, ok := users[user]
	if !ok {
		hash = dummyHash()
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass))
	return ok && err == nil
}

// dummyHash is compared against for unknown users, so that a login's
// timing does not tell whether the user exists.
var dummyHash = sync.OnceValue(func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
	return string(h)
})
