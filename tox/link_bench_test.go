package tox

import (
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// countingHandler counts mesh frame bytes arriving at a transport.
type countingHandler struct{ bytes atomic.Int64 }

func (h *countingHandler) HandleFrame(_ mesh.FriendKey, f []byte) { h.bytes.Add(int64(len(f))) }
func (h *countingHandler) HandleOnline(mesh.FriendKey, bool)      {}

// BenchmarkToxLink measures envelope transfer through the Transport over
// one loopback Tox friend link, beside raw lossless-packet throughput on
// the same link in the same run. After a warm-up, each iteration moves
// linkVolume bytes both ways of sending, alternating which goes first: raw
// 1373-byte packets pumped from the transport's iterate hook until SENDQ
// (the best libtoxcore allows), and real sealed envelopes (64 KiB mails) as
// mesh frames. It reports the medians as raw-B/s and envelope-B/s, and
// the median of the per-round ratios as envelope/raw.
func BenchmarkToxLink(b *testing.B) {
	const linkVolume = 4 << 20
	p := pairConnect(b, pairOptions(b), pairOptions(b))
	ta, tb := NewTransport(TransportConfig{}), NewTransport(TransportConfig{})
	b.Cleanup(func() { ta.Close(); tb.Close() })
	h := &countingHandler{}
	tb.SetHandler(h)

	var rawRecv atomic.Int64
	tb.testRawRecv = func(_ PublicKey, d []byte) { rawRecv.Add(int64(len(d))) }
	var rawTarget, rawSent atomic.Int64
	var rawErr atomic.Pointer[error]
	pkt := make([]byte, MaxCustomPacket)
	pkt[0] = LosslessLastID // not a mesh chunk
	ta.testRawSend = func(c *Core) {
		for rawSent.Load() < rawTarget.Load() {
			err := c.SendLossless(p.AB, pkt)
			if errors.Is(err, ErrSendQ) {
				return
			}
			if err != nil {
				rawErr.CompareAndSwap(nil, &err)
				return
			}
			rawSent.Add(int64(len(pkt)))
		}
	}
	// The hooks are set before Attach: the Tox goroutine reads them.
	if err := ta.Attach(p.A); err != nil {
		b.Fatal(err)
	}
	if err := tb.Attach(p.B); err != nil {
		b.Fatal(err)
	}

	kr := envelope.NewKeyring(envelope.Config{Identity: mustKeyPair(b)})
	now := time.Now()
	env, err := kr.Seal(envelope.SealParams{To: p.B.PublicKey(), Body: make([]byte, 64<<10), Created: now, Expiry: now.Add(time.Hour), Hops: 3})
	if err != nil {
		b.Fatal(err)
	}
	frame := append([]byte{mesh.ProtocolVersion, 4}, env.Encode()...) // an envelope frame

	sendRaw := func() float64 {
		start := time.Now()
		base := rawRecv.Load()
		want := int64(linkVolume/MaxCustomPacket) * MaxCustomPacket
		rawTarget.Add(want)
		p.A.Wake()
		waitFor(b, 60*time.Second, "raw packets", func() bool { return rawRecv.Load()-base >= want || rawErr.Load() != nil })
		if e := rawErr.Load(); e != nil {
			b.Fatal(*e)
		}
		return float64(want) / time.Since(start).Seconds()
	}
	sendEnvelopes := func() float64 {
		start := time.Now()
		base := h.bytes.Load()
		n := linkVolume / len(frame)
		for i := 0; i < n; i++ {
			if err := ta.Send(p.B.PublicKey(), frame); err != nil {
				b.Fatal(err)
			}
		}
		total := int64(n * len(frame))
		waitFor(b, 60*time.Second, "envelopes", func() bool { return h.bytes.Load()-base >= total })
		return float64(total) / time.Since(start).Seconds()
	}
	// libtoxcore's congestion control ramps up over the first megabytes:
	// warm the link up, then alternate which kind goes first.
	sendRaw()
	sendEnvelopes()
	var raw, envs []float64
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			raw = append(raw, sendRaw())
			envs = append(envs, sendEnvelopes())
		} else {
			envs = append(envs, sendEnvelopes())
			raw = append(raw, sendRaw())
		}
	}
	// The link speeds up from round to round (congestion control), so the
	// fair comparison is within a round: both kinds back to back.
	ratios := make([]float64, len(raw))
	for i := range raw {
		ratios[i] = envs[i] / raw[i]
	}
	b.ReportMetric(median(raw), "raw-B/s")
	b.ReportMetric(median(envs), "envelope-B/s")
	b.ReportMetric(median(ratios), "envelope/raw")
	b.Logf("raw %v B/s, envelopes %v B/s over %d rounds of %d bytes each", raw, envs, len(raw), linkVolume)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func mustKeyPair(t testing.TB) envelope.KeyPair {
	kp, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}
