package inbox

import (
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// BenchmarkDeliver measures durable delivery of 10 KiB mails to an on-disk
// inbox (one fsync'd transaction each).
func BenchmarkDeliver(b *testing.B) {
	c := newTestClock()
	box := openTest(b, b.TempDir(), c)
	data := pattern(10 << 10)
	meta := testMeta(c, time.Hour)
	b.SetBytes(int64(len(data)))
	var id EnvelopeID
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(id[:], uint64(i))
		added, err := box.Deliver(id, meta, data)
		if err != nil || !added {
			b.Fatalf("Deliver = %v, %v", added, err)
		}
	}
}

// BenchmarkGet measures reading a 10 KiB mail back.
func BenchmarkGet(b *testing.B) {
	c := newTestClock()
	box := openTest(b, b.TempDir(), c)
	id := testID(1)
	mustDeliver(b, box, id, testMeta(c, time.Hour), pattern(10<<10), true)
	b.SetBytes(10 << 10)
	for b.Loop() {
		if _, _, err := box.Get(id.UID()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFootprint measures the private memory (RssAnon, Linux) an inbox
// on disk adds to the process under a burst of mail: one op opens an
// inbox, delivers 2,000 mails of 40 KiB and 20 of 3 MiB, reads them all
// back, deletes them and closes. "shipped" runs the options Open sets;
// "badger-default" puts back badger's memtable, block cache and
// compactors. Run each alone (-bench Footprint/shipped): the Go heap one
// leaves behind would hide the other's growth.
func BenchmarkFootprint(b *testing.B) {
	b.Run("shipped", func(b *testing.B) { benchFootprint(b, nil) })
	b.Run("badger-default", func(b *testing.B) {
		benchFootprint(b, func(o badger.Options) badger.Options {
			d := badger.DefaultOptions("")
			return o.WithMemTableSize(d.MemTableSize).WithBlockCacheSize(d.BlockCacheSize).WithNumCompactors(d.NumCompactors)
		})
	})
}

func benchFootprint(b *testing.B, tune func(badger.Options) badger.Options) {
	before, ok := rssAnon()
	if !ok {
		b.Skip("no RssAnon in /proc/self/status")
	}
	small, large := pattern(40<<10), pattern(3<<20)
	var peak int64
	for b.Loop() {
		box, err := Open(Options{Dir: b.TempDir(), tune: tune})
		if err != nil {
			b.Fatal(err)
		}
		meta := Meta{Created: time.Now(), KeepUntil: time.Now().Add(time.Hour)}
		uids := make([]string, 0, 2020)
		for i := range 2020 {
			data := small
			if i%101 == 0 {
				data = large
			}
			var id EnvelopeID
			binary.BigEndian.PutUint64(id[:], uint64(i+1))
			if _, err := box.Deliver(id, meta, data); err != nil {
				b.Fatal(err)
			}
			uids = append(uids, id.UID())
		}
		peak = max(peak, mustRSSAnon(b))
		for _, uid := range uids {
			_, r, err := box.Reader(uid)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
		peak = max(peak, mustRSSAnon(b))
		for i := 0; i < len(uids); i += 1000 {
			if err := box.Delete(uids[i:min(i+1000, len(uids))]...); err != nil {
				b.Fatal(err)
			}
		}
		peak = max(peak, mustRSSAnon(b))
		if err := box.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak-before)/(1<<20), "anon-MiB")
}

// rssAnon returns the process's resident private memory in bytes.
func rssAnon() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

func mustRSSAnon(b *testing.B) int64 {
	v, ok := rssAnon()
	if !ok {
		b.Fatal("cannot read RssAnon")
	}
	return v
}
