package sim

// The latency figure: the CDF of delivery latency per strategy and TTL.

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// cdfCurve is the pooled latencies of one strategy and TTL.
type cdfCurve struct {
	strategy string
	ttl      int
	lat      []float64 // in the figure's unit, ascending
	created  int
}

// latencyFigure plots the CDF of delivery latency over created mail.
func latencyFigure(r *Report) *figure {
	sums := reportSummaries(r)
	curves := cdfCurves(r)
	posMin, maxL, n := math.Inf(1), 0.0, 0
	for _, c := range curves {
		n += len(c.lat)
		for _, l := range c.lat {
			if l > 0 {
				posMin = min(posMin, l)
			}
			maxL = max(maxL, l)
		}
	}
	unit := latencyUnitFor(maxL)
	for _, c := range curves {
		for i := range c.lat {
			c.lat[i] *= unit.perHour
		}
	}
	posMin, maxL = posMin*unit.perHour, maxL*unit.perHour
	logX := maxL > 0 && maxL/posMin > 100
	xLabel := "latency (" + unit.name + ")"
	if logX {
		xLabel = "latency (log scale)"
	}
	f := newFigure("Delivery latency: fraction of created mail delivered", plotSubtitle(r, sums),
		xLabel, "fraction of mails delivered")
	f.p.Y.Min, f.p.Y.Max = 0, 1
	f.p.Y.Tick.Marker = unitTicks{}
	switch {
	case n == 0 || maxL == 0:
		f.p.X.Min, f.p.X.Max = 0, 1
		if n == 0 {
			f.note("no mail was delivered")
		}
	case logX:
		f.p.X.Min, f.p.X.Max = posMin/1.5, maxL*1.5
		f.p.X.Scale = plot.LogScale{}
		f.p.X.Tick.Marker = durationTicks{unit.perHour}
	default:
		f.p.X.Min, f.p.X.Max = 0, maxL*1.04
		f.p.X.Tick.Marker = stepTicks(unit.steps)
	}
	x0, x1 := f.p.X.Min, f.p.X.Max

	floods := 0
	for _, c := range curves {
		if isFloodStrategy(c.strategy) {
			floods++
		}
	}
	k := 0
	for _, c := range curves {
		var sty draw.LineStyle
		var label string
		frac := 0.0
		if c.created > 0 {
			frac = float64(len(c.lat)) / float64(c.created)
		}
		switch c.strategy {
		case StrategyDirect, StrategyRelay:
			rs := refStyle[c.strategy]
			sty = draw.LineStyle{Color: rs.col, Width: vg.Points(2), Dashes: rs.dash}
			label = rs.label
		default:
			sty = draw.LineStyle{Color: rampColour(k, floods), Width: vg.Points(2)}
			label = fmt.Sprintf("%s, TTL %d", c.strategy, c.ttl)
			k++
		}
		label += ": " + percentString(frac, 1)
		line := &plotter.Line{XYs: cdfPoints(c, x0, x1), LineStyle: sty}
		if n > 0 {
			f.p.Add(line)
		}
		f.leg.Add(label, line)
	}
	if n > 0 {
		f.leg.Add("(curves end at the delivery ratio)")
	}
	f.p.X.Min, f.p.X.Max = x0, x1
	f.p.Y.Min, f.p.Y.Max = 0, 1
	return f
}

// cdfCurves pools each run's latencies, in hours, by strategy and TTL: direct, relay,
// and flood (or, without flood runs, flood-noack) at up to six TTLs spread
// over those simulated.
func cdfCurves(r *Report) []cdfCurve {
	type key struct {
		s string
		t int
	}
	idx := map[key]int{}
	var all []cdfCurve
	for i := range r.Runs {
		run := &r.Runs[i]
		k := key{run.Strategy, run.TTL}
		j, ok := idx[k]
		if !ok {
			j = len(all)
			idx[k] = j
			all = append(all, cdfCurve{strategy: run.Strategy, ttl: run.TTL})
		}
		c := &all[j]
		c.created += max(run.Created, 0)
		for _, l := range run.Latencies {
			if math.IsNaN(l) || math.IsInf(l, 0) {
				continue
			}
			c.lat = append(c.lat, max(l, 0)/3600)
		}
	}
	floodSt := StrategyFlood
	if !slices.ContainsFunc(all, func(c cdfCurve) bool { return c.strategy == StrategyFlood }) {
		floodSt = StrategyFloodNoAck
	}
	var out, flood []cdfCurve
	for _, st := range []string{StrategyDirect, StrategyRelay} {
		for _, c := range all {
			if c.strategy == st {
				out = append(out, c)
			}
		}
	}
	for _, c := range all {
		if c.strategy == floodSt {
			flood = append(flood, c)
		}
	}
	slices.SortStableFunc(flood, func(a, b cdfCurve) int { return cmp.Compare(a.ttl, b.ttl) })
	const maxFlood = 6
	if len(flood) > maxFlood {
		var pick []cdfCurve
		for i := range maxFlood {
			j := int(math.Round(float64(i) * float64(len(flood)-1) / float64(maxFlood-1)))
			pick = append(pick, flood[j])
		}
		flood = pick
	}
	out = append(out, flood...)
	for i := range out {
		slices.Sort(out[i].lat)
	}
	return out
}

// cdfPoints returns the step curve of c over created mail, from (x0, 0)
// to (x1, delivered/created); latencies below x0 are drawn at x0. Long
// curves are thinned to about 1000 steps.
func cdfPoints(c cdfCurve, x0, x1 float64) plotter.XYs {
	pts := plotter.XYs{{X: x0, Y: 0}}
	n := len(c.lat)
	if n == 0 || c.created == 0 {
		return append(pts, plotter.XY{X: x1, Y: 0})
	}
	total := float64(c.created)
	step := max(1, (n+999)/1000)
	prev := 0.0
	for i := step - 1; ; i += step {
		i = min(i, n-1)
		x := min(max(c.lat[i], x0), x1)
		y := float64(i+1) / total
		pts = append(pts, plotter.XY{X: x, Y: prev}, plotter.XY{X: x, Y: y})
		prev = y
		if i == n-1 {
			break
		}
	}
	return append(pts, plotter.XY{X: x1, Y: prev})
}

// rampColour returns the i-th of n colours along viridis (its darker four
// fifths, so that the lightest is still legible on white).
func rampColour(i, n int) color.Color {
	if n <= 1 {
		return colBlue
	}
	stops := []color.RGBA{
		{68, 1, 84, 255}, {72, 40, 120, 255}, {62, 74, 137, 255}, {49, 104, 142, 255},
		{38, 130, 142, 255}, {31, 158, 137, 255}, {53, 183, 121, 255}, {109, 205, 89, 255},
		{180, 222, 44, 255},
	}
	t := 0.85 * float64(i) / float64(n-1) * float64(len(stops)-1)
	j := min(int(t), len(stops)-2)
	u := t - float64(j)
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + u*(float64(b)-float64(a)))) }
	a, b := stops[j], stops[j+1]
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// gridLines draws light grid lines at the major ticks and lighter ones at
