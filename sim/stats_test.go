package sim

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol || (math.IsNaN(a) && math.IsNaN(b))
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{1, 2, 3, 4}, 25, 1.75},
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 100, 4},
		{[]float64{1, 2, 3, 4}, 90, 3.7},
		{[]float64{10, 20, 30, 40, 50}, 50, 30},
		{[]float64{10, 20, 30, 40, 50}, 99, 49.6},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 99, 7},
		{[]float64{1, 2}, -5, 1},  // clamped
		{[]float64{1, 2}, 150, 2}, // clamped
		{nil, 50, math.NaN()},
		{[]float64{1, 2}, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		if got := Percentile(tt.xs, tt.p); !near(got, tt.want, 1e-12) {
			t.Errorf("Percentile(%v, %v): got %v, want %v", tt.xs, tt.p, got, tt.want)
		}
	}
}

func TestMeanCI95(t *testing.T) {
	tests := []struct {
		xs       []float64
		mean     float64
		half     float64
		halfTol  float64
		describe string
	}{
		// s = √2.5, se = √0.5, t(4) = 2.7764.
		{[]float64{1, 2, 3, 4, 5}, 3, 2.7764 * math.Sqrt(0.5), 1e-9, "n=5"},
		// s = √2, se = 1, t(1) = 12.7062.
		{[]float64{2, 4}, 3, 12.7062, 1e-9, "n=2"},
		{[]float64{5, 5, 5}, 5, 0, 1e-12, "no spread"},
		{[]float64{42}, 42, 0, 0, "one value"},
		{nil, math.NaN(), 0, 0, "empty"},
	}
	for _, tt := range tests {
		mean, half := MeanCI95(tt.xs)
		if !near(mean, tt.mean, 1e-12) || !near(half, tt.half, tt.halfTol) {
			t.Errorf("%s: got %v ± %v, want %v ± %v", tt.describe, mean, half, tt.mean, tt.half)
		}
	}
	// 100 values 0..99: mean 49.5, s = √(100·101/12) = 29.011, t(99) from
	// the 60–120 interpolation: 1.9842 (exact 1.98422).
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i)
	}
	mean, half := MeanCI95(xs)
	if want := 1.98422 * math.Sqrt(100.0*101/12) / 10; !near(mean, 49.5, 1e-12) || !near(half, want, 0.005) {
		t.Errorf("0..99: got %v ± %v, want 49.5 ± %v", mean, half, want)
	}
	if got, want := Mean([]float64{1, 2, 6}), 3.0; got != want {
		t.Errorf("Mean: got %v, want %v", got, want)
	}
}

func TestRatioCI95(t *testing.T) {
	// Frames sent and mail delivered by two seeds, the second of which
	// delivered nothing: 60 frames for 1 mail, and the seeds disagree
	// wildly (residuals -50 and 50, x̄ = 0.5): t(1)·√(5000/2)/0.5.
	r, h := RatioCI95([]float64{10, 50}, []float64{1, 0})
	if r != 60 || !near(h, 12.7062*100, 1e-9) {
		t.Errorf("RatioCI95: got %v ± %v, want 60 ± 1270.62", r, h)
	}
	// Runs in exact proportion agree: no spread.
	if r, h := RatioCI95([]float64{30, 60, 90}, []float64{1, 2, 3}); r != 30 || h != 0 {
		t.Errorf("proportional runs: got %v ± %v, want 30 ± 0", r, h)
	}
	if r, h := RatioCI95([]float64{7}, []float64{2}); r != 3.5 || h != 0 {
		t.Errorf("one run: got %v ± %v, want 3.5 ± 0", r, h)
	}
	if r, _ := RatioCI95([]float64{5, 5}, []float64{0, 0}); !math.IsNaN(r) {
		t.Errorf("nothing delivered: got %v, want NaN", r)
	}

	// Coverage: 10 seeds, each delivering a Poisson(4) count of mails
	// that cost 100 ± 40 frames each, plus up to 30 frames that delivered
	// nothing: the true ratio is E[frames]/E[delivered] = (400 + 15)/4.
	// The interval should hold it about 95% of the time (the ratio
	// estimator is approximate for few runs).
	rng := rand.New(rand.NewPCG(1, 2))
	const trials, n = 4000, 10
	hits := 0
	for range trials {
		ys, xs := make([]float64, n), make([]float64, n)
		for i := range n {
			xs[i] = float64(poisson(rng, 4))
			for range int(xs[i]) {
				ys[i] += 100 + 40*rng.NormFloat64()
			}
			ys[i] += 30 * rng.Float64() // frames that delivered nothing
		}
		r, h := RatioCI95(ys, xs)
		if math.IsNaN(r) {
			continue
		}
		if math.Abs(r-(400+15)/4.0) <= h {
			hits++
		}
	}
	t.Logf("coverage %.3f", float64(hits)/trials)
	if cov := float64(hits) / trials; cov < 0.90 || cov > 0.98 {
		t.Errorf("coverage of the 95%% interval: %.3f, want about 0.95", cov)
	}
}

// poisson draws from a Poisson distribution of mean lambda (Knuth).
func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// TestT975 checks the t table and its interpolation against gonum's
// Student's t quantile.
func TestT975(t *testing.T) {
	for _, df := range []int{1, 2, 3, 5, 10, 29, 30, 31, 35, 40, 50, 60, 90, 120, 121, 200, 1000, 100_000} {
		want := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
		tol := 6e-5
		if df > 30 {
			tol = 1e-3
		}
		if got := t975(df); !near(got, want, tol) {
			t.Errorf("t975(%d): got %v, want %v ± %v", df, got, want, tol)
		}
	}
}

func TestWilsonCI95(t *testing.T) {
	tests := []struct {
		k, n   int
		lo, hi float64
	}{
		// Worked by hand with z = 1.96: (p̂ + z²/2n ± z√(p̂q̂/n + z²/4n²))/(1 + z²/n).
		{5, 10, 0.2366, 0.7634},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{1, 1, 0.2065, 1},
		{50, 100, 0.4038, 0.5962},
		{95, 100, 0.8882, 0.9785},
		{0, 0, 0, 1},
		{3, 2, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		lo, hi := WilsonCI95(tt.k, tt.n)
		if !near(lo, tt.lo, 1e-4) || !near(hi, tt.hi, 1e-4) {
			t.Errorf("WilsonCI95(%d, %d): got [%v, %v], want [%v, %v]", tt.k, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
}

// TestRatioBounds: the delivery ratio's interval stays within [0, 1], and
// seeds that happen to agree still leave the spread of their mails.
func TestRatioBounds(t *testing.T) {
	runs := func(created int, delivered ...int) []Result {
		var out []Result
		for i, d := range delivered {
			r := Result{Strategy: StrategyFlood, TTL: 1, Seed: uint64(i + 1), Created: created, Delivered: d}
			if created > 0 {
				r.DeliveryRatio = float64(d) / float64(created)
			}
			out = append(out, r)
		}
		return out
	}
	tests := []struct {
		name   string
		runs   []Result
		lo, hi float64 // the interval must lie within [lo, hi] and hold the mean
		wider  float64 // and be at least this wide
	}{
		{"agreeing seeds", runs(40, 1, 1, 1), 0, 0.2, 0.05},
		{"near 1, apart", runs(100, 97, 100), 0, 1, 0.1},
		{"near 0, apart", runs(100, 0, 6), 0, 1, 0.1},
		{"one seed", runs(200, 100), 0.4, 0.6, 0.1},
		{"all delivered", runs(200, 200, 200), 0.97, 1, 0.005},
		// Seeds that created different numbers of mails (some refused):
		// the mean of their ratios is not the pooled ratio, and the
		// interval still holds it.
		{"unequal counts", append(runs(10, 10), runs(190, 95)...), 0, 1, 0.1},
		{"nothing created", runs(0, 0, 0), 0, 1, 1},
	}
	for _, tt := range tests {
		s := summarise(tt.runs)[0]
		m, lo, hi := s.DeliveryRatio, s.DeliveryRatioLo, s.DeliveryRatioHi
		if lo < tt.lo || hi > tt.hi || lo > m || hi < m || hi-lo < tt.wider {
			t.Errorf("%s: %v in [%v, %v], want within [%v, %v] and %v wide at least", tt.name, m, lo, hi, tt.lo, tt.hi, tt.wider)
		}
	}
}
