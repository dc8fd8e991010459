package sim

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure geometry: every plot is plotWidth × plotHeight, its legend to the
// right of the axes so that it never hides data; PNGs are rendered at
// plotDPI (1181 × 709 pixels).
const (
	plotWidth  = 20 * vg.Centimeter
	plotHeight = 12 * vg.Centimeter
	plotDPI    = 150
)

var (
	plotFont     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotFontBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: stdfont.WeightBold}
)

// Okabe–Ito colours, distinguishable with the common colour-vision
// deficiencies.
var (
	colBlack  = color.RGBA{0, 0, 0, 255}
	colOrange = color.RGBA{230, 159, 0, 255}
	colBlue   = color.RGBA{0, 114, 178, 255}
	colRed    = color.RGBA{213, 94, 0, 255}
	colGrey   = color.RGBA{140, 140, 140, 255}
)

// Dash patterns.
var (
	dashSolid   []vg.Length
	dashDashed  = []vg.Length{vg.Points(7), vg.Points(4)}
	dashDashDot = []vg.Length{vg.Points(9), vg.Points(3), vg.Points(2), vg.Points(3)}
	dashDotted  = []vg.Length{vg.Points(1.5), vg.Points(3)}
)

// WritePlots writes, as PNG and SVG, into dir (which must exist):
//
//   - delivery_vs_ttl: delivery ratio against TTL for flood and
//     flood-noack (mean over seeds, 95% CI bars), direct and relay as
//     horizontal reference lines;
//   - latency_cdf: the fraction of created mail delivered within each
//     latency, pooled over seeds, for direct, relay and flood at up to six
//     TTLs (each curve ends at its delivery ratio);
//   - overhead_vs_ttl and overhead_bytes_vs_ttl: frames and bytes sent per
//     delivered mail against TTL, on log axes.
func WritePlots(dir string, r *Report) error {
	return writePlots(dir, r, "png", "svg")
}

// writePlots writes the plots of r in the given formats.
func writePlots(dir string, r *Report, formats ...string) error {
	r = cleanReport(r)
	sums := reportSummaries(r)
	figs := []struct {
		name string
		fig  *figure
	}{
		{"delivery_vs_ttl", deliveryFigure(r, sums)},
		{"latency_cdf", latencyFigure(r)},
		{"overhead_vs_ttl", overheadFigure(r, sums, false)},
		{"overhead_bytes_vs_ttl", overheadFigure(r, sums, true)},
	}
	for _, f := range figs {
		for _, format := range formats {
			if err := f.fig.save(filepath.Join(dir, f.name+"."+format), format); err != nil {
				return err
			}
		}
	}
	return nil
}

// figure is a plot with its legend, which is drawn beside the axes rather
// than over them.
//
// The figure draws the title and the axis labels itself: gonum places an
// axis label by the arithmetic middle of the axis range, which on a log
// axis is near its end, and then shrinks the axes to make room for it.
type figure struct {
	p               *plot.Plot
	leg             plot.Legend
	title, subtitle string
	xLabel, yLabel  string
}

func newFigure(title, subtitle, xLabel, yLabel string) *figure {
	p := plot.New()
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Tick.Label.Font = font.From(plotFont, 10.5)
		a.Tick.Length = vg.Points(5)
		a.Padding = vg.Points(4)
	}
	p.Add(gridLines{})
	leg := plot.NewLegend()
	leg.TextStyle.Font = font.From(plotFont, 10.5)
	leg.Top, leg.Left = true, true
	leg.ThumbnailWidth = vg.Points(32)
	leg.Padding = vg.Points(4)
	return &figure{p: p, leg: leg, title: title, subtitle: subtitle, xLabel: xLabel, yLabel: yLabel}
}

// save renders the figure to path in format ("png" or "svg").
func (f *figure) save(path, format string) error {
	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))}
	case "svg":
		cw = vgsvg.New(plotWidth, plotHeight)
	default:
		return fmt.Errorf("sim: unknown plot format %q", format)
	}
	f.draw(draw.New(cw))
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return fmt.Errorf("sim: rendering %s: %w", filepath.Base(path), err)
	}
	b := buf.Bytes()
	if format == "svg" {
		// The SVG names the font but does not embed it: let viewers
		// without Liberation Sans fall back to a sans-serif font of the
		// same metrics rather than to their default serif.
		b = bytes.ReplaceAll(b, []byte("font-family:Liberation Sans;"),
			[]byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"))
	}
	return writeReportFile(path, b)
}

// draw draws the plot on the left of c and the legend on its right, top
// aligned with the data area.
func (f *figure) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	margin := vg.Points(8)
	c = draw.Crop(c, margin, -margin, margin, -margin)

	// The title and subtitle span the whole width, above the axes and
	// the legend; a subtitle too wide for one line breaks at its dots.
	title := text.Style{Color: colBlack, Font: font.From(plotFontBold, 13),
		XAlign: draw.XCenter, YAlign: draw.YTop, Handler: f.p.TextHandler}
	sub := title
	sub.Font = font.From(plotFont, 10.5)
	sub.Color = color.Gray{Y: 60}
	subtitle := f.subtitle
	if sub.Width(subtitle) > c.Size().X {
		subtitle = strings.ReplaceAll(subtitle, " · ", "\n")
	}
	top := c.Max.Y
	if f.title != "" {
		c.FillText(title, vg.Point{X: c.Center().X, Y: top}, f.title)
		top -= title.Height(f.title) + vg.Points(3)
	}
	if subtitle != "" {
		c.FillText(sub, vg.Point{X: c.Center().X, Y: top}, subtitle)
		top -= sub.Height(subtitle)
	}
	c.Max.Y = top - vg.Points(10)

	// Room for the axis labels, left and below.
	label := text.Style{Color: colBlack, Font: font.From(plotFont, 12),
		XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: f.p.TextHandler}
	labelH := label.Height("Mg")
	lw := f.leg.Rectangle(c).Size().X
	gap := vg.Points(14)
	pc := draw.Crop(c, labelH+vg.Points(6), 0, labelH+vg.Points(6), 0)
	if lw > 0 {
		pc = draw.Crop(pc, 0, -(lw + gap), 0, 0)
	}
	f.p.Draw(pc)
	da := f.p.DataCanvas(pc)
	if f.xLabel != "" {
		c.FillText(label, vg.Point{X: (da.Min.X + da.Max.X) / 2, Y: c.Min.Y + labelH/2}, f.xLabel)
	}
	if f.yLabel != "" {
		ly := label
		ly.Rotation = math.Pi / 2
		c.FillText(ly, vg.Point{X: c.Min.X + labelH/2, Y: (da.Min.Y + da.Max.Y) / 2}, f.yLabel)
	}
	if lw > 0 {
		lc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: pc.Max.X + gap, Y: da.Min.Y},
			Max: vg.Point{X: c.Max.X, Y: da.Max.Y},
		}}
		f.leg.Draw(lc)
	}
}

// note writes txt in the middle of the axes (for a plot without data).
func (f *figure) note(txt string) {
	f.p.Add(centredText{txt})
}

// plotSubtitle describes the study in one line, for plot titles.
func plotSubtitle(r *Report, sums []Summary) string {
	var parts []string
	if g := r.Graph; g.Kind != "" || g.Nodes > 0 {
		parts = append(parts, fmt.Sprintf("%s graph, %d nodes, mean degree %s", dashIfEmpty(g.Kind), g.Nodes, trimFloat(g.MeanDegree, 1)))
	}
	if c := r.Churn; c.Model == "none" {
		parts = append(parts, "no churn")
	} else if c.Model != "" {
		parts = append(parts, fmt.Sprintf("%s churn (%s online)", c.Model, percentString(c.Availability, 0)))
	}
	var w []string
	if r.Messages > 0 {
		w = append(w, fmt.Sprintf("%d mails", r.Messages))
	}
	if r.Days > 0 {
		w = append(w, trimFloat(r.Days, 1)+" days")
	}
	if n := seedCount(sums); n > 1 {
		w = append(w, fmt.Sprintf("%d seeds", n))
	}
	if len(w) > 0 {
		parts = append(parts, strings.Join(w, ", "))
	}
	return strings.Join(parts, " · ")
}

// seedCount is the most runs any strategy and TTL had.
func seedCount(sums []Summary) int {
	n := 0
	for _, s := range sums {
		n = max(n, s.Runs)
	}
	return n
}

// summariesOf returns the summaries of strategy st, by TTL.
func summariesOf(sums []Summary, st string) []Summary {
	var out []Summary
	for _, s := range sums {
		if s.Strategy == st {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Summary) int { return cmp.Compare(a.TTL, b.TTL) })
	return out
}

// ttlRange returns the x range of a TTL axis: the flood TTLs with half a
// step either side, or 1..2 without them.
func ttlRange(sums []Summary) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range sums {
		if isFloodStrategy(s.Strategy) {
			lo, hi = min(lo, float64(s.TTL)), max(hi, float64(s.TTL))
		}
	}
	if math.IsInf(lo, 0) {
		return 0.5, 2.5
	}
	if lo == hi {
		return lo - 0.5, hi + 0.5
	}
	return lo - 0.4, hi + 0.4
}

// floodStyle is how each flood strategy is drawn.
var floodStyle = map[string]struct {
	col   color.Color
	dash  []vg.Length
	glyph draw.GlyphDrawer
	label string
}{
	StrategyFlood:      {colBlue, dashSolid, draw.CircleGlyph{}, "flood"},
	StrategyFloodNoAck: {colRed, dashDashed, draw.TriangleGlyph{}, "flood-noack (no acks)"},
}

// refStyle is how direct and relay are drawn as reference lines.
var refStyle = map[string]struct {
	col   color.Color
	dash  []vg.Length
	label string
}{
	StrategyDirect: {colBlack, dashDashed, "direct (TTL 1)"},
	StrategyRelay:  {colOrange, dashDashDot, "relay (TTL 2)"},
}

// addSeries draws one flood strategy's means against TTL, with CI bars,
// and adds it to the legend. val returns a summary's mean and CI
// half-width; clamp limits the bars (and drops points outside [lo, hi]).
func addSeries(f *figure, ss []Summary, st string, val func(Summary) (float64, float64), lo, hi float64) {
	var xys plotter.XYs
	var errs plotter.YErrors
	bars := false
	for _, s := range ss {
		y, ci := val(s)
		if y < lo || y > hi {
			continue
		}
		xys = append(xys, plotter.XY{X: float64(s.TTL), Y: y})
		low, high := min(ci, y-lo), min(ci, hi-y)
		errs = append(errs, struct{ Low, High float64 }{low, high})
		bars = bars || ci > 0
	}
	if len(xys) == 0 {
		return
	}
	sty := floodStyle[st]
	line := &plotter.Line{XYs: xys, LineStyle: draw.LineStyle{Color: sty.col, Width: vg.Points(2), Dashes: sty.dash}}
	pts := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{Color: sty.col, Radius: vg.Points(3.5), Shape: sty.glyph}}
	if bars {
		f.p.Add(&plotter.YErrorBars{XYs: xys, YErrors: errs,
			LineStyle: draw.LineStyle{Color: sty.col, Width: vg.Points(1.2)}, CapWidth: vg.Points(7)})
	}
	f.p.Add(line, pts)
	f.leg.Add(sty.label, line, pts)
}

// addReference draws a strategy's value as a horizontal line across the
// TTL axis.
func addReference(f *figure, st string, y, x0, x1 float64, label string) {
	sty := refStyle[st]
	line := &plotter.Line{XYs: plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}},
		LineStyle: draw.LineStyle{Color: sty.col, Width: vg.Points(1.6), Dashes: sty.dash}}
	f.p.Add(line)
	f.leg.Add(label, line)
}

// ciNote adds a legend line explaining the error bars.
func ciNote(f *figure, sums []Summary) {
	if n := seedCount(sums); n > 1 {
		f.leg.Add(fmt.Sprintf("bars: 95%% CI over %d seeds", n))
	}
}

// deliveryFigure plots delivery ratio against TTL.
func deliveryFigure(r *Report, sums []Summary) *figure {
	f := newFigure("Delivery ratio vs TTL", plotSubtitle(r, sums), "TTL (friend links)", "delivery ratio")
	x0, x1 := ttlRange(sums)
	ratio := func(s Summary) (float64, float64) { return s.DeliveryRatio, s.DeliveryRatioCI }
	for _, st := range []string{StrategyFlood, StrategyFloodNoAck} {
		addSeries(f, summariesOf(sums, st), st, ratio, 0, 1)
	}
	for _, st := range []string{StrategyDirect, StrategyRelay} {
		for _, s := range summariesOf(sums, st) {
			addReference(f, st, s.DeliveryRatio, x0, x1, fmt.Sprintf("%s: %s", refStyle[st].label, percentString(s.DeliveryRatio, 1)))
		}
	}
	if reach := reachableRatio(sums); reach > 0 {
		bound := &plotter.Line{XYs: plotter.XYs{{X: x0, Y: reach}, {X: x1, Y: reach}},
			LineStyle: draw.LineStyle{Color: colGrey, Width: vg.Points(2.2)}}
		f.p.Add(bound)
		f.leg.Add(fmt.Sprintf("reachable (bound): %s", percentString(reach, 1)), bound)
	}
	target := &plotter.Line{XYs: plotter.XYs{{X: x0, Y: 0.99}, {X: x1, Y: 0.99}},
		LineStyle: draw.LineStyle{Color: colGrey, Width: vg.Points(1), Dashes: dashDotted}}
	f.p.Add(target)
	f.leg.Add("99% delivery", target)
	ciNote(f, sums)
	if len(sums) == 0 {
		f.note("no runs")
	}
	f.p.X.Min, f.p.X.Max = x0, x1
	f.p.X.Tick.Marker = ttlTicks{}
	f.p.Y.Min, f.p.Y.Max = 0, 1
	f.p.Y.Tick.Marker = unitTicks{}
	return f
}

// overheadFigure plots frames (or bytes) per delivered mail against TTL on
// a log axis.
func overheadFigure(r *Report, sums []Summary, bytes bool) *figure {
	title, ylabel := "Frames per delivered mail vs TTL", "frames per delivered mail"
	val := func(s Summary) (float64, float64) { return s.FramesPerDelivery, s.FramesPerDeliveryCI }
	if bytes {
		title, ylabel = "Bytes sent per delivered mail vs TTL", "bytes per delivered mail"
		val = func(s Summary) (float64, float64) { return s.BytesPerDelivery, s.BytesPerDeliveryCI }
	}
	f := newFigure(title, plotSubtitle(r, sums), "TTL (friend links)", ylabel)
	x0, x1 := ttlRange(sums)

	// The y range: every positive mean, and the upper ends of the bars.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range sums {
		if y, ci := val(s); y > 0 && s.DeliveryRatio > 0 {
			lo, hi = min(lo, y), max(hi, y)
			if isFloodStrategy(s.Strategy) {
				hi = max(hi, y+ci)
				if y-ci > 0 {
					lo = min(lo, y-ci)
				}
			}
		}
	}
	if math.IsInf(lo, 0) {
		f.note("no mail was delivered")
		f.p.X.Min, f.p.X.Max = x0, x1
		f.p.X.Tick.Marker = ttlTicks{}
		f.p.Y.Min, f.p.Y.Max = 0, 1
		f.p.Y.Tick.Marker = plot.ConstantTicks{}
		return f
	}
	if hi/lo < 10 {
		// At least one decade, centred on the data.
		m := math.Sqrt(hi * lo)
		lo, hi = min(lo, m/math.Sqrt(10)), max(hi, m*math.Sqrt(10))
	}
	lo, hi = lo/1.4, hi*1.4
	for _, st := range []string{StrategyFlood, StrategyFloodNoAck} {
		addSeries(f, summariesOf(sums, st), st, val, lo, hi)
	}
	for _, st := range []string{StrategyDirect, StrategyRelay} {
		for _, s := range summariesOf(sums, st) {
			if y, _ := val(s); y > 0 && s.DeliveryRatio > 0 {
				lab := humanCount(y)
				if bytes {
					lab = humanBytes(y)
				}
				addReference(f, st, y, x0, x1, fmt.Sprintf("%s: %s", refStyle[st].label, lab))
			}
		}
	}
	ciNote(f, sums)
	f.p.X.Min, f.p.X.Max = x0, x1
	f.p.X.Tick.Marker = ttlTicks{}
	f.p.Y.Min, f.p.Y.Max = lo, hi
	f.p.Y.Scale = plot.LogScale{}
	f.p.Y.Tick.Marker = logTicks{binary: bytes}
	return f
}

// cdfCurve is the pooled latencies of one strategy and TTL.
type cdfCurve struct {
	strategy string
	ttl      int
	lat      []float64 // hours, ascending
	created  int
}

// latencyFigure plots the CDF of delivery latency over created mail.
func latencyFigure(r *Report) *figure {
	sums := reportSummaries(r)
	f := newFigure("Delivery latency: fraction of created mail delivered", plotSubtitle(r, sums),
		"latency (hours)", "fraction of mails delivered")
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
	f.p.Y.Min, f.p.Y.Max = 0, 1
	f.p.Y.Tick.Marker = unitTicks{}
	logX := maxL > 0 && maxL/posMin > 100
	switch {
	case n == 0 || maxL == 0:
		f.p.X.Min, f.p.X.Max = 0, 1
		if n == 0 {
			f.note("no mail was delivered")
		}
	case logX:
		f.p.X.Min, f.p.X.Max = posMin/1.5, maxL*1.5
		f.p.X.Scale = plot.LogScale{}
		f.p.X.Tick.Marker = logTicks{}
	default:
		f.p.X.Min, f.p.X.Max = 0, maxL*1.04
		f.p.X.Tick.Marker = hourTicks{}
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

// cdfCurves pools each run's latencies by strategy and TTL: direct, relay,
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
// the minor ticks of both axes.
type gridLines struct{}

func (gridLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	major := draw.LineStyle{Color: color.Gray{Y: 210}, Width: vg.Points(0.6)}
	minor := draw.LineStyle{Color: color.Gray{Y: 236}, Width: vg.Points(0.5)}
	for _, pass := range []bool{true, false} { // minor lines first, under the major ones
		for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
			if t.IsMinor() != pass || t.Value < p.X.Min || t.Value > p.X.Max {
				continue
			}
			sty := major
			if pass {
				sty = minor
			}
			x := trX(t.Value)
			c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
		}
		for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if t.IsMinor() != pass || t.Value < p.Y.Min || t.Value > p.Y.Max {
				continue
			}
			sty := major
			if pass {
				sty = minor
			}
			y := trY(t.Value)
			c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
		}
	}
}

// centredText writes a message in the middle of the data area.
type centredText struct{ text string }

func (t centredText) Plot(c draw.Canvas, p *plot.Plot) {
	sty := text.Style{
		Color:   colGrey,
		Font:    font.From(plotFont, 16),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: p.TextHandler,
	}
	c.FillText(sty, c.Center(), t.text)
}

// ttlTicks labels every whole TTL (every few when there are many).
type ttlTicks struct{}

func (ttlTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := max(int(math.Ceil(lo)), 0), int(math.Floor(hi))
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 50, 100} {
		step = s
		if (last-first)/s <= 12 {
			break
		}
	}
	var out []plot.Tick
	for v := first; v <= last; v++ {
		t := plot.Tick{Value: float64(v)}
		if v%step == 0 || step == 1 {
			t.Label = fmt.Sprint(v)
		}
		out = append(out, t)
	}
	return out
}

// hourTicks marks a linear axis of hours at steps that read well in
// hours: decimal fractions below an hour, then hours, days and weeks.
type hourTicks struct{}

func (hourTicks) Ticks(lo, hi float64) []plot.Tick {
	steps := []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5,
		1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 1440, 2880}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (hi-lo)/s <= 9 {
			step = s
			break
		}
	}
	var out []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi; i++ {
		out = append(out, plot.Tick{Value: i * step, Label: trimFloat(i*step, 3)})
		// One minor tick between labels.
		if m := (i + 0.5) * step; m <= hi {
			out = append(out, plot.Tick{Value: m})
		}
	}
	return out
}

// unitTicks labels 0, 0.1, …, 1 with minor ticks at the half-tenths.
type unitTicks struct{}

func (unitTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for i := 0; i <= 20; i++ {
		v := float64(i) / 20
		if v < lo-1e-9 || v > hi+1e-9 {
			continue
		}
		t := plot.Tick{Value: v}
		if i%2 == 0 {
			t.Label = trimFloat(v, 1)
		}
		out = append(out, t)
	}
	return out
}

// logTicks marks a log axis between lo and hi (only there: gonum makes
// room for the labels of every tick it is given): powers of ten (and 2 and
// 5 times them across less than two decades), or with binary set, powers
// of two labelled as byte sizes.
type logTicks struct{ binary bool }

func (t logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	var out []plot.Tick
	if t.binary {
		k0, k1 := int(math.Floor(math.Log2(lo))), int(math.Ceil(math.Log2(hi)))
		step := 1
		for _, s := range []int{1, 2, 4, 5, 10, 20} {
			step = s
			if (k1-k0)/s <= 7 {
				break
			}
		}
		for k := k0; k <= k1; k++ {
			v := math.Ldexp(1, k)
			tk := plot.Tick{Value: v}
			if v < lo || v > hi {
				continue
			}
			if ((k%step)+step)%step == 0 {
				tk.Label = strings.Replace(humanBytes(v), ".0 ", " ", 1)
			}
			out = append(out, tk)
		}
		return out
	}
	d0, d1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	span := math.Log10(hi / lo)
	every := 1
	for (d1-d0)/every > 8 {
		every++
	}
	for d := d0; d <= d1; d++ {
		p := math.Pow(10, float64(d))
		for m := 1; m <= 9; m++ {
			tk := plot.Tick{Value: float64(m) * p}
			if tk.Value < lo*(1-1e-9) || tk.Value > hi*(1+1e-9) {
				continue
			}
			if (m == 1 && (d-d0)%every == 0) || (span < 2 && (m == 2 || m == 5)) {
				tk.Label = tickNumber(tk.Value)
			}
			out = append(out, tk)
		}
	}
	return out
}

// tickNumber formats a tick value briefly: 0.01, 0.5, 20, 1k, 2M.
func tickNumber(v float64) string {
	switch {
	case v >= 1e9:
		return strings.Replace(strconv.FormatFloat(v, 'g', 3, 64), "e+", "e", 1)
	case v >= 1e6:
		return trimFloat(v/1e6, 3) + "M"
	case v >= 1e3:
		return trimFloat(v/1e3, 3) + "k"
	default:
		return trimFloat(v, 6)
	}
}
