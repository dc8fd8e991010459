package tox

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// TestRegressionStartChunkAmplification: every 1373-byte start chunk that
// claims a MaxFrame-sized frame makes the reassembler allocate (and zero)
// MaxFrame bytes on the Tox goroutine. A friend sending only such start
// chunks (each restarting "the frame") costs the node 16 MiB of allocation
// per packet, i.e. ~12,000x amplification, and stalls the Tox goroutine
// (every other friend's traffic with it).
func TestRegressionStartChunkAmplification(t *testing.T) {
	pkt := make([]byte, MaxCustomPacket)
	pkt[0] = pktFrameStart
	binary.BigEndian.PutUint32(pkt[1:], 16<<20)
	tr := NewTransport(TransportConfig{})
	defer tr.Close()
	var pk PublicKey
	pk[0] = 1
	const n = 500 // ~0.7 MB of packets: well under a second of one link
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for i := 0; i < n; i++ {
		tr.onFriendLossless(0, pk, pkt)
	}
	el := time.Since(start)
	runtime.ReadMemStats(&ms1)
	in := n * len(pkt)
	alloc := ms1.TotalAlloc - ms0.TotalAlloc
	t.Logf("%d start chunks (%d KB in): %v on the callback goroutine, %d MB allocated (x%d), BadChunks %d",
		n, in>>10, el, alloc>>20, alloc/uint64(in), tr.Stats().BadChunks)
	t.Logf("link rate 1.1 MB/s => %.0f packets/s => %.1f s of Tox-goroutine time per second of traffic",
		1.1e6/float64(len(pkt)), el.Seconds()/float64(n)*1.1e6/float64(len(pkt)))
	if alloc > 100*uint64(in) {
		t.Errorf("allocation amplification x%d", alloc/uint64(in))
	}
}

// TestRegressionPartialsPerFriend: partial frames are not counted against
// MaxInbound: each friend may pin MaxFrame bytes with one start chunk and
// stay silent.
func TestRegressionPartialsPerFriend(t *testing.T) {
	pkt := make([]byte, MaxCustomPacket)
	pkt[0] = pktFrameStart
	binary.BigEndian.PutUint32(pkt[1:], 16<<20)
	tr := NewTransport(TransportConfig{MaxInbound: 1 << 20})
	defer tr.Close()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for i := 0; i < 20; i++ {
		var pk PublicKey
		pk[0] = byte(i + 1)
		tr.onFriendLossless(uint32(i), pk, pkt)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	t.Logf("20 friends x one 1373-byte start chunk: heap in use grew by %d MB (MaxInbound is 1 MB)", (ms1.HeapInuse-ms0.HeapInuse)>>20)
	runtime.KeepAlive(tr)
}
