package inbox

import (
	"encoding/binary"
	"testing"
	"time"
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
