package inbox

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentCommitsOfOneID(t *testing.T) {
	tests := []struct {
		name    string
		writers int
		size    int
	}{
		{"small", 16, 1000},
		{"staged", 4, 2*chunkSize + 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClock()
			b := openTest(t, "", c)
			id := testID(0x42)
			ds := make([]*Delivery, tt.writers)
			for i := range ds {
				d, err := b.Begin(id, testMeta(c, time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := d.Write(pattern(tt.size)); err != nil {
					t.Fatal(err)
				}
				ds[i] = d
			}
			var added atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, d := range ds {
				wg.Go(func() {
					<-start
					ok, err := d.Commit()
					if err != nil {
						t.Errorf("Commit: %v", err)
					}
					if ok {
						added.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := added.Load(); got != 1 {
				t.Fatalf("added=true from %d Commits, want exactly 1", got)
			}
			ms, _ := b.List()
			if len(ms) != 1 {
				t.Fatalf("List: %d mails, want 1", len(ms))
			}
			mustGet(t, b, id.UID(), pattern(tt.size))
			wantChunks := (tt.size + chunkSize - 1) / chunkSize
			if got := countKeys(t, b, prefixBody); got != wantChunks {
				t.Fatalf("chunks: %d, want %d (losers' staged chunks purged)", got, wantChunks)
			}
			if got := countKeys(t, b, prefixPending); got != 0 {
				t.Fatalf("pending markers: %d, want 0", got)
			}
		})
	}
}

// TestConcurrentUse runs deliveries, listing, reading and deletion at once,
// for the race detector, and then checks the invariants.
func TestConcurrentUse(t *testing.T) {
	c := newTestClock()
	b := openTest(t, t.TempDir(), c)
	const deliverers, perDeliverer = 4, 25
	var wg sync.WaitGroup
	var stop atomic.Bool
	var addedCount atomic.Int32
	for g := range deliverers {
		wg.Go(func() {
			for i := range perDeliverer {
				// Overlapping IDs between goroutines: each ID is delivered twice.
				id := testID(byte((g/2)*perDeliverer + i))
				ok, err := b.Deliver(id, testMeta(c, time.Hour), fmt.Appendf(nil, "mail %d", id[0]))
				if err != nil {
					t.Errorf("Deliver: %v", err)
				}
				if ok {
					addedCount.Add(1)
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for !stop.Load() {
				ms, err := b.List()
				if err != nil {
					t.Errorf("List: %v", err)
					return
				}
				for i := 1; i < len(ms); i++ {
					if ms[i].Seq <= ms[i-1].Seq {
						t.Errorf("List not in Seq order: %d after %d", ms[i].Seq, ms[i-1].Seq)
					}
				}
				if len(ms) > 0 {
					// May race with the deleter: found or ErrNotFound are both fine.
					b.Get(ms[0].UID)
				}
			}
		})
	}
	readers.Go(func() {
		for !stop.Load() {
			ms, _ := b.List()
			if len(ms) > 3 {
				if err := b.Delete(ms[0].UID, ms[2].UID); err != nil {
					t.Errorf("Delete: %v", err)
				}
			}
		}
	})
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	if got, want := addedCount.Load(), int32(deliverers/2*perDeliverer); got != want {
		t.Fatalf("added: %d, want %d (each ID once)", got, want)
	}
	ms, err := b.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Seq > uint64(addedCount.Load()) {
			t.Errorf("Seq %d > number of mails added %d", m.Seq, addedCount.Load())
		}
	}
}
