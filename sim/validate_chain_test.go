package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chainLatency is the exact mean delivery time, in hours, of store-and-
// forward flooding over the path S – N – R when each node alternates
// between online and offline with exponential periods (rate lambda of
// going offline, mu of coming online, per hour), independently, and a
// transfer takes no time: the mail moves from S to N at the first moment
// both are online, and from N to R at the first moment those two are. The
// mail is created at a random moment, so the nodes start in their
// stationary states.
//
// This is the epidemic-routing model of Zhang, Neglia, Kurose and Towsley
// ("Performance modeling of epidemic routing", Computer Networks 2007),
// with the contact process of each link replaced by the on/off states of
// its two ends; for two hops it is a small absorbing Markov chain, solved
// here exactly.
func chainLatency(lambda, mu float64) float64 {
	// A state is the three nodes' on/off bits (bit 0 = S, 1 = N, 2 = R)
	// and the phase: 0 while only S has the mail, 1 once N has it too.
	idx := func(bits, phase int) int { return phase*8 + bits }
	both := func(bits, a, b int) bool { return bits&(1<<a) != 0 && bits&(1<<b) != 0 }
	// settle applies the instant moves; it returns -1 once R has the mail.
	settle := func(bits, phase int) int {
		if phase == 0 && both(bits, 0, 1) {
			phase = 1
		}
		if phase == 1 && both(bits, 1, 2) {
			return -1
		}
		return idx(bits, phase)
	}
	// E[s] = 1/q + Σ_i (rate_i/q) E[next_i]  →  q E[s] - Σ rate_i E[next_i] = 1.
	const n = 16
	var a [n][n + 1]float64
	for phase := range 2 {
		for bits := range 8 {
			s := idx(bits, phase)
			if settle(bits, phase) != s {
				a[s][s], a[s][n] = 1, 0 // never occupied: pin to 0
				continue
			}
			q := 0.0
			for i := range 3 {
				rate := mu
				if bits&(1<<i) != 0 {
					rate = lambda
				}
				q += rate
				if t := settle(bits^(1<<i), phase); t >= 0 {
					a[s][t] -= rate
				}
			}
			a[s][s] += q
			a[s][n] = 1
		}
	}
	e := solve(a)
	avail := mu / (lambda + mu)
	mean := 0.0
	for bits := range 8 {
		p := 1.0
		for i := range 3 {
			if bits&(1<<i) != 0 {
				p *= avail
			} else {
				p *= 1 - avail
			}
		}
		if s := settle(bits, 0); s >= 0 {
			mean += p * e[s]
		}
	}
	return mean
}

// solve returns x with A x = b for the augmented matrix [A | b], by Gauss–
// Jordan elimination with partial pivoting.
func solve(m [16][17]float64) [16]float64 {
	const n = 16
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		for r := range n {
			if r == c || m[r][c] == 0 {
				continue
			}
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	var x [16]float64
	for i := range n {
		x[i] = m[i][n] / m[i][i]
	}
	return x
}

func TestChainLatencyModel(t *testing.T) {
	// Always online: delivered at once.
	if got := chainLatency(1e-9, 1e9); got > 1e-6 {
		t.Errorf("always-online chain: %v h, want 0", got)
	}
	// Monte Carlo of the same chain, independent of the simulator.
	lambda, mu := 0.5, 1/6.0
	want := chainLatency(lambda, mu)
	got := monteCarloChain(lambda, mu, 200000)
	if d := math.Abs(got-want) / want; d > 0.01 {
		t.Errorf("Markov chain %.3f h, Monte Carlo %.3f h (%.2f%% apart)", want, got, 100*d)
	}
}

// monteCarloChain simulates the chain model of chainLatency directly.
func monteCarloChain(lambda, mu float64, n int) float64 {
	rng := rand.New(rand.NewPCG(3, 1))
	avail := mu / (lambda + mu)
	sum := 0.0
	for range n {
		var on [3]bool
		for i := range on {
			on[i] = rng.Float64() < avail
		}
		phase, t := 0, 0.0
		for {
			if phase == 0 && on[0] && on[1] {
				phase = 1
			}
			if phase == 1 && on[1] && on[2] {
				break
			}
			q := 0.0
			var rates [3]float64
			for i := range on {
				rates[i] = mu
				if on[i] {
					rates[i] = lambda
				}
				q += rates[i]
			}
			t += rng.ExpFloat64() / q
			x := rng.Float64() * q
			i := 0
			for ; i < 2 && x >= rates[i]; i++ {
				x -= rates[i]
			}
			on[i] = !on[i]
		}
		sum += t
	}
	return sum / float64(n)
}

// With exponential churn, flooding over a two-hop path must take, on
// average, the time the Markov chain of chainLatency gives: this checks
// hold-and-forward through an intermediate node, hand-over when friends come
// online, and the churn model together against an answer worked out
// independently. The graph is 1500 disjoint paths S – N – R, and every mail
// goes from an S to its R (distance 2, TTL 2).
func TestFloodChainClosedForm(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 2000 mails over 14 days")
	}
	var b strings.Builder
	b.WriteString("# 1500 disjoint paths of three nodes\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "%d %d\n%d %d\n", 3*i, 3*i+1, 3*i+1, 3*i+2)
	}
	path := filepath.Join(t.TempDir(), "chains.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Graph = path
	c.Churn, c.MeanOn, c.MeanOff = "exp", 2*time.Hour, 6*time.Hour
	c.ConnectDelay, c.Latency, c.Bandwidth = 0, time.Millisecond, 0
	c.Messages, c.Window, c.Distance = 2000, time.Hour, 2
	c.Days, c.Lifetime = 14, 14*24*time.Hour
	c.SizeMedian, c.SizeSigma = 512, 0
	c.TTLs = []int{2}
	c.Strategies = []string{StrategyFlood}
	c.Seeds = 4
	rep := runStudy(t, c)
	want := chainLatency(0.5, 1/6.0)
	sum := 0.0
	for _, r := range rep.Runs {
		if r.DeliveryRatio != 1 || r.HopsMax != 2 || r.Duplicates != 0 {
			t.Fatalf("seed %d: delivered %.3f, longest path %d, %d duplicates; want all mail over 2 links once",
				r.Seed, r.DeliveryRatio, r.HopsMax, r.Duplicates)
		}
		sum += r.LatencyS.Mean / 3600
	}
	// The mean of one seed's 2000 latencies is within about 3% of the
	// expectation (the latencies spread about as wide as their mean); the
	// mean over 4 seeds within about 1.5%.
	got := sum / float64(len(rep.Runs))
	t.Logf("flood over S–N–R: mean latency %.2f h over %d seeds, Markov chain %.2f h (%+.1f%%)", got, len(rep.Runs), want, 100*(got-want)/want)
	if d := (got - want) / want; math.Abs(d) > 0.04 {
		t.Errorf("mean latency %.2f h, Markov chain %.2f h: off by %.1f%% (allowed 4%%)", got, want, 100*d)
	}
}
