package inbox

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// model is the obviously-correct inbox the real one is checked against.
type model struct {
	mails   map[EnvelopeID]modelMail
	tombs   map[EnvelopeID]time.Time // KeepUntil of deleted mails
	lastSeq uint64
}

type modelMail struct {
	seq      uint64
	data     []byte
	meta     Meta
	received time.Time
}

// used is the bytes of the stored mails.
func (m *model) used() int64 {
	var n int64
	for _, mm := range m.mails {
		n += int64(len(mm.data))
	}
	return n
}

// delivered is the model's Has.
func (m *model) delivered(id EnvelopeID, now time.Time) bool {
	if _, ok := m.mails[id]; ok {
		return true
	}
	keep, ok := m.tombs[id]
	return ok && !now.After(keep)
}

func sameMeta(a, b Meta) bool {
	return a.Sender == b.Sender && a.PathLength == b.PathLength &&
		a.Created.Equal(b.Created) && a.KeepUntil.Equal(b.KeepUntil)
}

// inboxMachine drives an on-disk Inbox and the model with the same actions.
type inboxMachine struct {
	dir   string
	clock *testClock
	b     *Inbox
	m     model
	pool  []EnvelopeID
	quota int64 // Options.Quota
	// refused is the size of the largest mail refused since the last
	// Delete or reopen: Usage.Short is how much room it lacks now.
	refused int64
}

func TestInboxStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dir, err := os.MkdirTemp("", "inbox-rapid-")
		if err != nil {
			t.Fatal(err)
		}
		sm := &inboxMachine{
			dir:   dir,
			clock: newTestClock(),
			m:     model{mails: map[EnvelopeID]modelMail{}, tombs: map[EnvelopeID]time.Time{}},
		}
		for i := range 6 {
			sm.pool = append(sm.pool, testID(byte(0xa0+i)))
		}
		sm.quota = rapid.SampledFrom([]int64{0, 5000, chunkSize + 100, 3 * chunkSize}).Draw(t, "quota")
		sm.open(t)
		t.Cleanup(func() {
			sm.b.Close()
			os.RemoveAll(dir)
		})
		t.Repeat(map[string]func(*rapid.T){
			"Deliver": sm.deliver,
			"Delete":  sm.delete,
			"Get":     sm.get,
			"Has":     sm.has,
			"Advance": sm.advance,
			"Expire":  sm.expire,
			"Reopen":  sm.reopen,
			"":        sm.check,
		})
	})
}

func (sm *inboxMachine) open(t *rapid.T) {
	b, err := Open(Options{Dir: sm.dir, Now: sm.clock.Now, Quota: sm.quota, tune: small})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	sm.b = b
}

func (sm *inboxMachine) deliver(t *rapid.T) {
	id := rapid.SampledFrom(sm.pool).Draw(t, "id")
	size := rapid.SampledFrom([]int{0, 1, 100, 4000, chunkSize, 2*chunkSize + 1}).Draw(t, "size")
	fill := rapid.Byte().Draw(t, "fill")
	keep := time.Duration(rapid.IntRange(-2, 6).Draw(t, "keepHours")) * time.Hour
	exempt := rapid.Bool().Draw(t, "exempt")
	data := bytes.Repeat([]byte{fill}, size)
	now := sm.clock.Now()
	meta := Meta{Sender: [32]byte{fill}, PathLength: int(fill) % 5, Created: now.Add(-time.Minute), KeepUntil: now.Add(keep)}

	want := !sm.m.delivered(id, now)
	deliver := sm.b.Deliver
	if exempt {
		deliver = sm.b.DeliverExempt
	}
	added, err := deliver(id, meta, data)
	if want && !exempt && sm.quota > 0 && sm.m.used()+int64(size) > sm.quota {
		if !errors.Is(err, ErrOverQuota) || added {
			t.Fatalf("Deliver(%s) of %d bytes with %d of %d stored = %v, %v; want ErrOverQuota", id.UID(), size, sm.m.used(), sm.quota, added, err)
		}
		sm.refused = max(sm.refused, int64(size))
		return
	}
	if err != nil || added != want {
		t.Fatalf("Deliver(%s) = %v, %v; want %v, nil", id.UID(), added, err, want)
	}
	if added {
		sm.m.lastSeq++
		delete(sm.m.tombs, id)
		sm.m.mails[id] = modelMail{seq: sm.m.lastSeq, data: data, meta: meta, received: now}
	}
}

func (sm *inboxMachine) delete(t *rapid.T) {
	var present []string
	for id := range sm.m.mails {
		present = append(present, id.UID())
	}
	slices.Sort(present)
	del := rapid.SliceOfNDistinct(rapid.SampledFrom(append(present, "")), 0, len(present)+1, func(s string) string { return s }).Draw(t, "uids")
	unknown := slices.Contains(del, "")
	if unknown {
		// A pool ID that is not stored, or a malformed UID.
		var absent []string
		for _, id := range sm.pool {
			if _, ok := sm.m.mails[id]; !ok {
				absent = append(absent, id.UID())
			}
		}
		i := slices.Index(del, "")
		del[i] = rapid.SampledFrom(append(absent, "zz")).Draw(t, "unknown")
	}
	err := sm.b.Delete(del...)
	if unknown {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Delete(%q): %v, want ErrNotFound", del, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Delete(%q): %v", del, err)
	}
	if len(del) > 0 {
		sm.refused = 0
	}
	now := sm.clock.Now()
	for _, uid := range del {
		id, _ := ParseUID(uid)
		if keep := sm.m.mails[id].meta.KeepUntil; !now.After(keep) {
			sm.m.tombs[id] = keep
		}
		delete(sm.m.mails, id)
	}
}

func (sm *inboxMachine) get(t *rapid.T) {
	id := rapid.SampledFrom(sm.pool).Draw(t, "id")
	msg, data, err := sm.b.Get(id.UID())
	want, ok := sm.m.mails[id]
	if !ok {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(absent %s): %v, want ErrNotFound", id.UID(), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Get(%s): %v", id.UID(), err)
	}
	if !bytes.Equal(data, want.data) || msg.Seq != want.seq || !sameMeta(msg.Meta, want.meta) || !msg.Received.Equal(want.received) {
		t.Fatalf("Get(%s): got seq %d, %d bytes, %+v; want seq %d, %d bytes, %+v",
			id.UID(), msg.Seq, len(data), msg.Meta, want.seq, len(want.data), want.meta)
	}
}

func (sm *inboxMachine) has(t *rapid.T) {
	id := rapid.SampledFrom(sm.pool).Draw(t, "id")
	got, err := sm.b.Has(id)
	if want := sm.m.delivered(id, sm.clock.Now()); err != nil || got != want {
		t.Fatalf("Has(%s) = %v, %v; want %v, nil", id.UID(), got, err, want)
	}
}

func (sm *inboxMachine) advance(t *rapid.T) {
	sm.clock.Advance(time.Duration(rapid.IntRange(1, 180).Draw(t, "minutes")) * time.Minute)
}

func (sm *inboxMachine) expire(t *rapid.T) {
	now := sm.clock.Now()
	want := 0
	for id, keep := range sm.m.tombs {
		if now.After(keep) {
			want++
			delete(sm.m.tombs, id)
		}
	}
	n, err := sm.b.Expire()
	if err != nil || n != want {
		t.Fatalf("Expire() = %d, %v; want %d, nil", n, err, want)
	}
}

func (sm *inboxMachine) reopen(t *rapid.T) {
	if err := sm.b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sm.refused = 0
	sm.open(t)
}

// check compares List and Stats with the model.
func (sm *inboxMachine) check(t *rapid.T) {
	ms, err := sm.b.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var want []string
	for id := range sm.m.mails {
		want = append(want, id.UID())
	}
	slices.SortFunc(want, func(a, b string) int {
		ia, _ := ParseUID(a)
		ib, _ := ParseUID(b)
		return int(sm.m.mails[ia].seq) - int(sm.m.mails[ib].seq)
	})
	if got := uids(ms); !slices.Equal(got, want) {
		t.Fatalf("List: got %q, want %q", got, want)
	}
	var total int64
	for _, msg := range ms {
		mm := sm.m.mails[msg.Envelope]
		if msg.Seq != mm.seq || msg.Size != int64(len(mm.data)) || !sameMeta(msg.Meta, mm.meta) || !msg.Received.Equal(mm.received) {
			t.Fatalf("List entry %s: got seq %d size %d, want seq %d size %d", msg.UID, msg.Seq, msg.Size, mm.seq, len(mm.data))
		}
		total += msg.Size
	}
	if n, size, err := sm.b.Stats(); err != nil || n != len(ms) || size != total {
		t.Fatalf("Stats() = %d, %d, %v; want %d, %d, nil", n, size, err, len(ms), total)
	}
	short := int64(0)
	if sm.refused > 0 {
		short = max(0, sm.refused-(sm.quota-total))
	}
	if got, want := sm.b.Usage(), (Usage{Mails: len(ms), Bytes: total, Quota: sm.quota, Short: short}); got != want {
		t.Fatalf("Usage() = %+v, want %+v", got, want)
	}
}
