package inbox

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseUID(t *testing.T) {
	valid := testID(0xab).UID()
	tests := []struct {
		in   string
		want string // "" = error
	}{
		{valid, valid},
		{strings.Repeat("0", 64), strings.Repeat("0", 64)},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{strings.ToUpper(valid), ""},
		{valid[:63], ""},
		{valid + "a", ""},
		{valid[:63] + "g", ""},
		{valid[:63] + " ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		id, err := ParseUID(tt.in)
		got := ""
		if err == nil {
			got = id.UID()
		}
		if got != tt.want {
			t.Errorf("ParseUID(%q) = %q (err %v), want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestUIDIsValidUIDL(t *testing.T) {
	var id EnvelopeID
	for i := range id {
		id[i] = byte(i * 37)
	}
	uid := id.UID()
	if len(uid) > 70 || len(uid) != UIDLength {
		t.Fatalf("len(UID) = %d, want %d (RFC 1939 allows at most 70)", len(uid), UIDLength)
	}
	for i := 0; i < len(uid); i++ {
		if uid[i] < 0x21 || uid[i] > 0x7e {
			t.Fatalf("UID %q has byte %#x at %d, outside 0x21-0x7E", uid, uid[i], i)
		}
	}
	if uid != strings.ToLower(uid) {
		t.Fatalf("UID %q is not lower case", uid)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"10 KiB", 10 << 10},
		{"chunk-1", chunkSize - 1},
		{"chunk", chunkSize},
		{"chunk+1", chunkSize + 1},
		{"3 chunks+5", 3*chunkSize + 5},
	}
	c := newTestClock()
	b := openTest(t, "", c)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := testID(byte(i + 1))
			meta := testMeta(c, time.Hour)
			data := pattern(tt.size)
			mustDeliver(t, b, id, meta, data, true)
			m := mustGet(t, b, id.UID(), data)
			if m.Seq != uint64(i+1) {
				t.Errorf("Seq = %d, want %d", m.Seq, i+1)
			}
			if m.UID != id.UID() || m.Envelope != id {
				t.Errorf("UID = %q, want %q", m.UID, id.UID())
			}
			if !m.Received.Equal(c.Now()) {
				t.Errorf("Received = %v, want %v", m.Received, c.Now())
			}
			if m.Meta.Sender != meta.Sender || m.Meta.PathLength != meta.PathLength ||
				!m.Meta.Created.Equal(meta.Created) || !m.Meta.KeepUntil.Equal(meta.KeepUntil) {
				t.Errorf("Meta = %+v, want %+v", m.Meta, meta)
			}
			rm, r, err := b.Reader(id.UID())
			if err != nil {
				t.Fatalf("Reader: %v", err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			r.Close()
			if !bytes.Equal(got, data) || rm != m {
				t.Errorf("Reader: got %d bytes, want %d; message %+v, want %+v", len(got), len(data), rm, m)
			}
		})
		c.Advance(time.Second)
	}
	ms, err := b.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(tests) {
		t.Fatalf("List: %d mails, want %d", len(ms), len(tests))
	}
	var total int64
	for i, m := range ms {
		if m.Seq != uint64(i+1) {
			t.Errorf("List[%d].Seq = %d, want %d", i, m.Seq, i+1)
		}
		total += m.Size
	}
	n, size, err := b.Stats()
	if err != nil || n != len(tests) || size != total {
		t.Errorf("Stats() = %d, %d, %v; want %d, %d, nil", n, size, err, len(tests), total)
	}
}

func TestDuplicateIsNoOp(t *testing.T) {
	c := newTestClock()
	b := openTest(t, "", c)
	a, other := testID(1), testID(2)
	meta := testMeta(c, time.Hour)
	mustDeliver(t, b, a, meta, []byte("first"), true)
	mustDeliver(t, b, a, meta, []byte("second"), false)
	mustGet(t, b, a.UID(), []byte("first"))
	mustDeliver(t, b, other, meta, []byte("other"), true)

	if err := b.Delete(a.UID()); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Has(a); !ok || err != nil {
		t.Fatalf("Has(deleted) = %v, %v; want true, nil", ok, err)
	}
	mustDeliver(t, b, a, meta, []byte("third"), false)
	if _, _, err := b.Get(a.UID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(deleted): %v, want ErrNotFound", err)
	}
	ms, _ := b.List()
	if got, want := uids(ms), []string{other.UID()}; !slices.Equal(got, want) {
		t.Fatalf("List: got %q, want %q", got, want)
	}
}

func TestNothingVisibleBeforeCommit(t *testing.T) {
	for _, size := range []int{100, 2*chunkSize + 10} {
		c := newTestClock()
		b := openTest(t, "", c)
		id := testID(7)
		d, err := b.Begin(id, testMeta(c, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write(pattern(size)); err != nil {
			t.Fatal(err)
		}
		check := func(when string, want int) {
			t.Helper()
			ms, err := b.List()
			if err != nil || len(ms) != want {
				t.Fatalf("%s (size %d): List = %d mails, %v; want %d", when, size, len(ms), err, want)
			}
			ok, err := b.Has(id)
			if err != nil || ok != (want == 1) {
				t.Fatalf("%s (size %d): Has = %v, %v; want %v", when, size, ok, err, want == 1)
			}
			_, _, err = b.Get(id.UID())
			if (err == nil) != (want == 1) || (err != nil && !errors.Is(err, ErrNotFound)) {
				t.Fatalf("%s (size %d): Get error %v, want found=%v", when, size, err, want == 1)
			}
			if n, _, _ := b.Stats(); n != want {
				t.Fatalf("%s (size %d): Stats count %d, want %d", when, size, n, want)
			}
		}
		check("before Commit", 0)
		added, err := d.Commit()
		if err != nil || !added {
			t.Fatalf("Commit = %v, %v; want true, nil", added, err)
		}
		check("after Commit", 1)
		if err := d.Abort(); err != nil {
			t.Fatalf("Abort after Commit: %v", err)
		}
		check("after Abort after Commit", 1)
		if _, err := d.Commit(); !errors.Is(err, ErrDone) {
			t.Fatalf("second Commit: %v, want ErrDone", err)
		}
		if p := countKeys(t, b, prefixPending); p != 0 {
			t.Fatalf("%d pending markers after Commit, want 0", p)
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	c := newTestClock()
	b := openTest(t, "", c)
	id := testID(3)
	d, err := b.Begin(id, testMeta(c, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(5*chunkSize/2 + 1)
	for p := data; len(p) > 0; {
		n := min(len(p), 300<<10)
		if _, err := d.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if got := countKeys(t, b, prefixBody); got != 2 {
		t.Fatalf("staged chunks before Abort: got %d, want 2", got)
	}
	if err := d.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := d.Abort(); err != nil {
		t.Fatalf("second Abort: %v", err)
	}
	for _, p := range []byte{prefixBody, prefixPending, prefixMessage, prefixIndex, prefixTomb} {
		if got := countKeys(t, b, p); got != 0 {
			t.Errorf("keys %q after Abort: got %d, want 0", p, got)
		}
	}
	if _, err := d.Write([]byte("x")); !errors.Is(err, ErrDone) {
		t.Errorf("Write after Abort: %v, want ErrDone", err)
	}
	if added, err := d.Commit(); added || !errors.Is(err, ErrDone) {
		t.Errorf("Commit after Abort = %v, %v; want false, ErrDone", added, err)
	}
	// The envelope was never delivered, so it can be now.
	mustDeliver(t, b, id, testMeta(c, time.Hour), data, true)
	mustGet(t, b, id.UID(), data)
}

func TestDeleteIsAtomic(t *testing.T) {
	c := newTestClock()
	b := openTest(t, "", c)
	a, bb, cc, unknown := testID(0xa1), testID(0xb2), testID(0xc3), testID(0xd4)
	for _, id := range []EnvelopeID{a, bb, cc} {
		mustDeliver(t, b, id, testMeta(c, time.Hour), pattern(chunkSize+int(id[0])), true)
	}
	all := []string{a.UID(), bb.UID(), cc.UID()}
	tests := []struct {
		name string
		del  []string
	}{
		{"unknown uid", []string{a.UID(), unknown.UID()}},
		{"unknown first", []string{unknown.UID(), cc.UID()}},
		{"malformed uid", []string{a.UID(), "not-a-uid"}},
		{"upper-case uid", []string{strings.ToUpper(a.UID())}},
	}
	for _, tt := range tests {
		if err := b.Delete(tt.del...); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Delete: %v, want ErrNotFound", tt.name, err)
		}
		ms, _ := b.List()
		if got := uids(ms); !slices.Equal(got, all) {
			t.Errorf("%s: List after failed Delete: got %q, want %q", tt.name, got, all)
		}
	}
	if err := b.Delete(a.UID(), cc.UID(), a.UID()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	ms, _ := b.List()
	if got, want := uids(ms), []string{bb.UID()}; !slices.Equal(got, want) {
		t.Fatalf("List: got %q, want %q", got, want)
	}
	if got := countKeys(t, b, prefixBody); got != 2 {
		t.Errorf("body chunks left: got %d, want 2 (those of the one mail left)", got)
	}
	if got := countKeys(t, b, prefixPending); got != 0 {
		t.Errorf("pending markers left: got %d, want 0", got)
	}
	if err := b.Delete(a.UID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(deleted): %v, want ErrNotFound", err)
	}
	if err := b.Delete(); err != nil {
		t.Errorf("Delete(): %v, want nil", err)
	}
}

func TestMaxMessageSize(t *testing.T) {
	tests := []struct {
		name   string
		max    int64
		writes []int
		ok     bool
	}{
		{"at limit", 100, []int{100}, true},
		{"one over", 100, []int{101}, false},
		{"over on second write", 100, []int{60, 41}, false},
		{"at limit in pieces", 100, []int{50, 50, 0}, true},
		{"staged, over", 2*chunkSize + 1, []int{chunkSize, chunkSize, 2}, false},
		{"staged, at limit", 2*chunkSize + 1, []int{chunkSize, chunkSize, 1}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClock()
			b, err := Open(Options{InMemory: true, Now: c.Now, MaxMessageSize: tt.max, tune: small})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			id := testID(byte(i))
			d, err := b.Begin(id, testMeta(c, time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for _, n := range tt.writes {
				if _, werr = d.Write(pattern(n)); werr != nil {
					break
				}
			}
			added, err := d.Commit()
			if tt.ok {
				if werr != nil || err != nil || !added {
					t.Fatalf("Write: %v; Commit = %v, %v; want success", werr, added, err)
				}
				return
			}
			if !errors.Is(werr, ErrTooLarge) || !errors.Is(err, ErrTooLarge) || added {
				t.Fatalf("Write: %v; Commit = %v, %v; want ErrTooLarge", werr, added, err)
			}
			if ok, _ := b.Has(id); ok {
				t.Fatalf("Has after ErrTooLarge = true, want false")
			}
			if got := countKeys(t, b, prefixBody) + countKeys(t, b, prefixPending); got != 0 {
				t.Fatalf("%d keys staged after ErrTooLarge, want 0", got)
			}
		})
	}
	if _, err := Open(Options{InMemory: true, MaxMessageSize: -1}); err == nil {
		t.Errorf("Open with MaxMessageSize -1 succeeded")
	}
}

func TestBeginValidatesMeta(t *testing.T) {
	c := newTestClock()
	b := openTest(t, "", c)
	good := testMeta(c, time.Hour)
	tests := []struct {
		name string
		edit func(*Meta)
	}{
		{"zero KeepUntil", func(m *Meta) { m.KeepUntil = time.Time{} }},
		{"negative PathLength", func(m *Meta) { m.PathLength = -1 }},
		{"huge PathLength", func(m *Meta) { m.PathLength = MaxPathLength + 1 }},
	}
	for _, tt := range tests {
		m := good
		tt.edit(&m)
		if _, err := b.Begin(testID(1), m); err == nil {
			t.Errorf("%s: Begin succeeded, want error", tt.name)
		}
	}
}

func TestExpire(t *testing.T) {
	c := newTestClock()
	b := openTest(t, t.TempDir(), c)
	id := testID(5)
	mustDeliver(t, b, id, testMeta(c, time.Hour), []byte("v1"), true)
	if err := b.Delete(id.UID()); err != nil {
		t.Fatal(err)
	}
	c.Advance(30 * time.Minute)
	if n, err := b.Expire(); n != 0 || err != nil {
		t.Fatalf("Expire before KeepUntil = %d, %v; want 0, nil", n, err)
	}
	mustDeliver(t, b, id, testMeta(c, time.Hour), []byte("v2"), false)
	c.Advance(30 * time.Minute) // exactly KeepUntil: still remembered
	if ok, _ := b.Has(id); !ok {
		t.Fatalf("Has at KeepUntil = false, want true")
	}
	c.Advance(time.Nanosecond)
	if ok, _ := b.Has(id); ok {
		t.Fatalf("Has after KeepUntil = true, want false")
	}
	if n, err := b.Expire(); n != 1 || err != nil {
		t.Fatalf("Expire after KeepUntil = %d, %v; want 1, nil", n, err)
	}
	if got := countKeys(t, b, prefixTomb); got != 0 {
		t.Fatalf("tombstones after Expire: %d, want 0", got)
	}
	mustDeliver(t, b, id, testMeta(c, time.Hour), []byte("v3"), true)
	m := mustGet(t, b, id.UID(), []byte("v3"))
	if m.Seq != 2 {
		t.Fatalf("Seq of redelivery = %d, want 2", m.Seq)
	}
}

func TestExpiredTombstoneIsAbsentBeforeExpire(t *testing.T) {
	c := newTestClock()
	b := openTest(t, "", c)
	id := testID(6)
	mustDeliver(t, b, id, testMeta(c, time.Minute), []byte("x"), true)
	if err := b.Delete(id.UID()); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	// No Expire: the tombstone is past KeepUntil and must not suppress.
	mustDeliver(t, b, id, testMeta(c, time.Minute), []byte("y"), true)
	if got := countKeys(t, b, prefixTomb); got != 0 {
		t.Fatalf("tombstones after redelivery: %d, want 0 (Commit removes the stale one)", got)
	}
	// KeepUntil already past at Delete: no tombstone at all.
	c.Advance(2 * time.Minute)
	if err := b.Delete(id.UID()); err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, b, prefixTomb); got != 0 {
		t.Fatalf("tombstones after Delete past KeepUntil: %d, want 0", got)
	}
}

func TestClosed(t *testing.T) {
	c := newTestClock()
	b, err := Open(Options{InMemory: true, Now: c.Now, tune: small})
	if err != nil {
		t.Fatal(err)
	}
	id := testID(1)
	mustDeliver(t, b, id, testMeta(c, time.Hour), pattern(2*chunkSize+1), true)
	_, r, err := b.Reader(id.UID())
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Begin(testID(2), testMeta(c, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	calls := map[string]func() error{
		"Begin":   func() error { _, err := b.Begin(id, testMeta(c, time.Hour)); return err },
		"Deliver": func() error { _, err := b.Deliver(testID(3), testMeta(c, time.Hour), nil); return err },
		"Has":     func() error { _, err := b.Has(id); return err },
		"List":    func() error { _, err := b.List(); return err },
		"Get":     func() error { _, _, err := b.Get(id.UID()); return err },
		"Reader":  func() error { _, _, err := b.Reader(id.UID()); return err },
		"Delete":  func() error { return b.Delete(id.UID()) },
		"Stats":   func() error { _, _, err := b.Stats(); return err },
		"Expire":  func() error { _, err := b.Expire(); return err },
		"GC":      func() error { return b.GC() },
		"Read":    func() error { _, err := io.ReadAll(r); return err },
		"Commit":  func() error { _, err := d.Commit(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s on closed inbox: %v, want ErrClosed", name, err)
		}
	}
}

func TestReaderOfDeletedMail(t *testing.T) {
	c := newTestClock()
	b := openTest(t, "", c)
	id := testID(4)
	data := pattern(3 * chunkSize)
	mustDeliver(t, b, id, testMeta(c, time.Hour), data, true)
	_, r, err := b.Reader(id.UID())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first := make([]byte, chunkSize)
	if _, err := io.ReadFull(r, first); err != nil || !bytes.Equal(first, data[:chunkSize]) {
		t.Fatalf("first chunk: %v", err)
	}
	if err := b.Delete(id.UID()); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read after Delete: %v, want ErrNotFound", err)
	}
}

func TestLargeMailOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("20 MiB")
	}
	dir := t.TempDir()
	c := newTestClock()
	b, err := Open(Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	id := testID(20)
	data := pattern(20<<20 + 123)
	d, err := b.Begin(id, testMeta(c, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// io.Copy in 32 KiB writes, as the mesh would stream it.
	if _, err := io.Copy(d, bytes.NewReader(data)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if added, err := d.Commit(); !added || err != nil {
		t.Fatalf("Commit = %v, %v", added, err)
	}
	mustGet(t, b, id.UID(), data)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openTest(t, dir, c)
	mustGet(t, b, id.UID(), data)
	_, r, err := b.Reader(id.UID())
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := io.Copy(&got, r); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("Reader: %d bytes, err %v; want %d bytes", got.Len(), err, len(data))
	}
	if err := b.Delete(id.UID()); err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, b, prefixBody); got != 0 {
		t.Fatalf("chunks after Delete: %d, want 0", got)
	}
	if _, err := b.Expire(); err != nil {
		t.Fatalf("Expire (with GC): %v", err)
	}
}
