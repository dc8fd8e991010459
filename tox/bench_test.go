package tox

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLossless measures raw lossless-packet throughput over one
// loopback friend link: full-size packets (MaxCustomPacket bytes) from A
// to B, pumped from A's iterate hook until libtoxcore reports SENDQ, then
// again after the next iteration. Each b.Loop iteration queues one packet;
// at most benchWindow packets are in flight. The bytes/s metric counts from
// the first packet to the last one received.
func BenchmarkLossless(b *testing.B) {
	const benchWindow = 2048
	recB := newPairRecorder()
	optsB := pairOptions(b)
	optsB.Callbacks = recB.Callbacks()
	p := pairConnect(b, pairOptions(b), optsB)

	var (
		queued, sent, received atomic.Uint64
		sendq, iterations      atomic.Uint64
		bad                    atomic.Pointer[error]
	)
	recB.setLossless(func(_ uint32, _ PublicKey, data []byte) {
		n := received.Load()
		if len(data) != MaxCustomPacket || binary.BigEndian.Uint64(data[1:]) != n {
			err := errors.New("lossless packet lost, altered or out of order")
			bad.CompareAndSwap(nil, &err)
		}
		received.Store(n + 1)
	})
	pkt := make([]byte, MaxCustomPacket)
	pkt[0] = LosslessFirstID
	p.A.SetIterateHook(func(c *Core) {
		iterations.Add(1)
		for seq := sent.Load(); seq < queued.Load(); seq++ {
			binary.BigEndian.PutUint64(pkt[1:], seq)
			err := c.SendLossless(p.AB, pkt)
			if errors.Is(err, ErrSendQ) {
				sendq.Add(1)
				return
			}
			if err != nil {
				bad.CompareAndSwap(nil, &err)
				return
			}
			sent.Store(seq + 1)
		}
	})
	defer p.A.SetIterateHook(nil)

	start := time.Now()
	for b.Loop() {
		n := queued.Add(1)
		for i := 0; n-received.Load() > benchWindow; i++ {
			if bad.Load() != nil || i > 100000 { // 100000 × 100 µs = 10 s without progress
				b.Fatalf("stalled at %d of %d packets: %v", received.Load(), n, bad.Load())
			}
			time.Sleep(100 * time.Microsecond)
		}
		if n%64 == 0 {
			p.A.Wake()
		}
	}
	p.A.Wake()
	total := queued.Load()
	waitFor(b, 60*time.Second, "the last packets", func() bool {
		return received.Load() == total || bad.Load() != nil
	})
	if e := bad.Load(); e != nil {
		b.Fatal(*e)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(total*MaxCustomPacket)/elapsed.Seconds(), "bytes/s")
	b.ReportMetric(float64(sendq.Load())/float64(iterations.Load()), "sendq/iter")
	b.Logf("%d packets (%d bytes) in %v; %d iterations, %d SENDQ stops",
		total, total*MaxCustomPacket, elapsed.Round(time.Millisecond), iterations.Load(), sendq.Load())
}
