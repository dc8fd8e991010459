package sim

import (
	"math"
)

// Percentile returns the p-th percentile (p in [0, 100], clamped) of the
// ascending values in sorted, by linear interpolation between the closest
// ranks: with n values the percentile sits at rank r = p/100·(n-1)
// (0-based) and is sorted[⌊r⌋] + (r-⌊r⌋)·(sorted[⌊r⌋+1]-sorted[⌊r⌋]).
// This is numpy's default ("linear") and Excel's PERCENTILE.INC. It returns
// NaN for an empty slice or a NaN p.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	p = min(max(p, 0), 100)
	r := p / 100 * float64(n-1)
	i := int(r)
	if i >= n-1 {
		return sorted[n-1]
	}
	frac := r - float64(i)
	return sorted[i] + frac*(sorted[i+1]-sorted[i])
}

// Mean returns the arithmetic mean of xs (NaN for an empty slice).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// MeanCI95 returns the mean of xs and the half-width of its 95% confidence
// interval, t·s/√n, where s is the sample standard deviation and t the
// 0.975 quantile of Student's t with n-1 degrees of freedom. The half-width
// is 0 for fewer than 2 values (and the mean NaN for none).
//
// t comes from a table: exact (to 4 decimals) for 1..30 degrees of freedom,
// and beyond that interpolated linearly in 1/df between the tabulated
// values at 30, 40, 60, 120 and ∞ (the normal 1.96), the classical way to
// read a t table; the error is below 0.001.
func MeanCI95(xs []float64) (mean, half float64) {
	mean = Mean(xs)
	n := len(xs)
	if n < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	s := math.Sqrt(ss / float64(n-1))
	return mean, t975(n-1) * s / math.Sqrt(float64(n))
}

// RatioCI95 returns R = Σys/Σxs, a ratio of totals over n runs (frames
// sent per mail delivered, say), and the half-width of its 95% confidence
// interval by the ratio estimator's standard error,
//
//	SE(R) = √(Σ(yᵢ - R·xᵢ)² / (n-1) / n) / x̄,
//
// times Student's t with n-1 degrees of freedom. Unlike a mean of the
// runs' own ratios it weighs each run by its xᵢ, and a run with xᵢ = 0 and
// yᵢ > 0 (frames sent, nothing delivered) raises R instead of being left
// out or counted as 0. R is NaN when Σxs is 0; the half-width is 0 for
// fewer than 2 runs. xs and ys have the same length.
func RatioCI95(ys, xs []float64) (ratio, half float64) {
	var sy, sx float64
	for i := range xs {
		sy += ys[i]
		sx += xs[i]
	}
	if sx == 0 {
		return math.NaN(), 0
	}
	ratio = sy / sx
	n := len(xs)
	if n < 2 {
		return ratio, 0
	}
	var ss float64
	for i := range xs {
		d := ys[i] - ratio*xs[i]
		ss += d * d
	}
	se := math.Sqrt(ss/float64(n-1)/float64(n)) / (sx / float64(n))
	return ratio, t975(n-1) * se
}

// t975Table[df-1] is the 0.975 quantile of Student's t with df degrees of
// freedom, df = 1..30.
var t975Table = [30]float64{
	12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
	2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
	2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
}

// t975Tail lists (df, t) beyond the table; df 0 stands for ∞.
var t975Tail = [...]struct {
	df int
	t  float64
}{{30, 2.0423}, {40, 2.0211}, {60, 2.0003}, {120, 1.9799}, {0, 1.9600}}

// t975 returns the 0.975 quantile of Student's t with df ≥ 1 degrees of
// freedom (see MeanCI95).
func t975(df int) float64 {
	if df <= 30 {
		return t975Table[max(df, 1)-1]
	}
	for i := 1; i < len(t975Tail); i++ {
		lo, hi := t975Tail[i-1], t975Tail[i]
		if hi.df != 0 && df > hi.df {
			continue
		}
		// Interpolate in x = 1/df; x = 0 at ∞.
		xl, xh, x := 1/float64(lo.df), 0.0, 1/float64(df)
		if hi.df != 0 {
			xh = 1 / float64(hi.df)
		}
		return hi.t + (lo.t-hi.t)*(x-xh)/(xl-xh)
	}
	return 1.96 // not reached
}

// z975 is the 0.975 quantile of the standard normal distribution.
const z975 = 1.959963984540054

// WilsonCI95 returns the 95% Wilson score interval for k successes in n
// trials:
//
//	(p̂ + z²/2n ± z·√(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n),  p̂ = k/n, z = 1.96.
//
// Unlike the normal approximation it stays inside [0, 1] and is sensible
// for k = 0 or k = n. With n ≤ 0 it returns the uninformative [0, 1]; with
// k outside 0..n it returns NaN, NaN.
func WilsonCI95(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	if k < 0 || k > n {
		return math.NaN(), math.NaN()
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z975 * z975
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z975 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	lo, hi = max(center-half, 0), min(center+half, 1)
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return lo, hi
}
