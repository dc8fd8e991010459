package sim

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
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

	"github.com/toxmail/toxmail/internal/plural"
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

// plotNames are the plots' file names, without the format's extension.
var plotNames = [...]string{"delivery_vs_ttl", "latency_cdf", "overhead_vs_ttl", "overhead_bytes_vs_ttl"}

// writePlots writes the plots of r in the given formats.
func writePlots(dir string, r *Report, formats ...string) error {
	r = cleanReport(r)
	sums := reportSummaries(r)
	figs := [len(plotNames)]*figure{
		deliveryFigure(r, sums),
		latencyFigure(r),
		overheadFigure(r, sums, false),
		overheadFigure(r, sums, true),
	}
	for i, f := range figs {
		for _, format := range formats {
			if err := f.save(filepath.Join(dir, plotNames[i]+"."+format), format); err != nil {
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
	// bars and cut say that addSeries drew error bars, and that it cut
	// some at the edge of the axes (for ciNote).
	bars, cut bool
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
		parts = append(parts, fmt.Sprintf("%s graph, %s, mean degree %s", graphName(g.Kind), plural.Count(g.Nodes, "node"), trimFloat(g.MeanDegree, 1)))
	}
	if c := r.Churn; c.Model == "none" {
		parts = append(parts, "no churn")
	} else if c.Model != "" {
		online := c.OnlineFraction
		if online == 0 { // a report from before online_fraction
			online = c.AlwaysOn + (1-c.AlwaysOn)*c.Availability
		}
		parts = append(parts, fmt.Sprintf("%s churn (%s online)", c.Model, percentString(online, 0)))
	}
	var w []string
	if r.Messages > 0 {
		w = append(w, plural.Count(r.Messages, "mail"))
	}
	if d := r.Study.Distance; d > 0 {
		w = append(w, fmt.Sprintf("%s apart", plural.Count(d, "link")))
	}
	if r.Days > 0 {
		w = append(w, daysString(r.Days, 1))
	}
	if n := seedCount(sums); n > 1 {
		w = append(w, fmt.Sprintf("%d seeds", n))
	}
	if len(w) > 0 {
		parts = append(parts, strings.Join(w, ", "))
	}
	return strings.Join(parts, " · ")
}

// graphName is a graph's kind for a subtitle: an edge list by its file
// name, shortened in the middle past 32 characters.
func graphName(kind string) string {
	if IsGenerated(kind) {
		return kind
	}
	name := []rune(filepath.Base(dashIfEmpty(kind)))
	if len(name) > 32 {
		name = slices.Concat(name[:15], []rune("…"), name[len(name)-16:])
	}
	return string(name)
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

// dodge is how far each flood strategy's points sit from their TTL, in
// TTLs, when both are drawn: flood and flood-noack often deliver alike,
// and one's line and bars would hide the other's.
func dodge(sums []Summary, st string) float64 {
	if len(summariesOf(sums, StrategyFlood)) == 0 || len(summariesOf(sums, StrategyFloodNoAck)) == 0 {
		return 0
	}
	if st == StrategyFlood {
		return -0.06
	}
	return 0.06
}

// addSeries draws one flood strategy's means against TTL (moved dx
// along the axis), with CI bars, and adds it to the legend. val returns a
// summary's mean and the bounds of its interval; clamp limits the bars
// (and drops points outside [lo, hi]).
func addSeries(f *figure, ss []Summary, st string, dx float64, val func(Summary) (y, ylo, yhi float64), lo, hi float64) {
	xys, errs, bars, cut := seriesPoints(ss, dx, val, lo, hi)
	f.cut = f.cut || cut
	if len(xys) == 0 {
		return
	}
	sty := floodStyle[st]
	line := &plotter.Line{XYs: xys, LineStyle: draw.LineStyle{Color: sty.col, Width: vg.Points(2), Dashes: sty.dash}}
	pts := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{Color: sty.col, Radius: vg.Points(3.5), Shape: sty.glyph}}
	if bars {
		f.bars = true
		f.p.Add(&plotter.YErrorBars{XYs: xys, YErrors: errs,
			LineStyle: draw.LineStyle{Color: sty.col, Width: vg.Points(1.2)}, CapWidth: vg.Points(7)})
	}
	f.p.Add(line, pts)
	f.leg.Add(sty.label, line, pts)
}

// seriesPoints returns addSeries' points and the lengths of their bars
// below and above, cut at lo and hi; bars reports that some bar has a
// length, and cut that some was cut.
func seriesPoints(ss []Summary, dx float64, val func(Summary) (y, ylo, yhi float64), lo, hi float64) (xys plotter.XYs, errs plotter.YErrors, bars, cut bool) {
	for _, s := range ss {
		y, ylo, yhi := val(s)
		if y < lo || y > hi {
			continue
		}
		xys = append(xys, plotter.XY{X: float64(s.TTL) + dx, Y: y})
		errs = append(errs, struct{ Low, High float64 }{y - max(ylo, lo), min(yhi, hi) - y})
		bars = bars || ylo < y || yhi > y
		cut = cut || ylo < lo || yhi > hi
	}
	return xys, errs, bars, cut
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

// ciNote adds a legend line explaining the error bars, if any were drawn,
// and saying so if some run past the axes.
func ciNote(f *figure, sums []Summary) {
	if !f.bars {
		return
	}
	note := fmt.Sprintf("bars: 95%% CI over %d seeds", seedCount(sums))
	if f.cut {
		note += "; cut at the axes"
	}
	f.leg.Add(note)
}

// deliveryBounds is a summary's delivery ratio and the bounds of its bar:
// its interval over seeds, none for one seed (as in the table).
func deliveryBounds(s Summary) (y, lo, hi float64) {
	if s.Runs < 2 {
		return s.DeliveryRatio, s.DeliveryRatio, s.DeliveryRatio
	}
	return s.DeliveryRatio, s.DeliveryRatioLo, s.DeliveryRatioHi
}

// deliveryFigure plots delivery ratio against TTL.
func deliveryFigure(r *Report, sums []Summary) *figure {
	f := newFigure("Delivery ratio vs TTL", plotSubtitle(r, sums), "TTL (friend links)", "delivery ratio")
	x0, x1 := ttlRange(sums)
	for _, st := range []string{StrategyFlood, StrategyFloodNoAck} {
		addSeries(f, summariesOf(sums, st), st, dodge(sums, st), deliveryBounds, 0, 1)
	}
	// The bound goes under the reference lines, which often lie on it
	// (relay delivers what is reachable); the legend keeps it after them.
	var bound *plotter.Line
	if reach := reachableRatio(sums); reach > 0 {
		bound = &plotter.Line{XYs: plotter.XYs{{X: x0, Y: reach}, {X: x1, Y: reach}},
			LineStyle: draw.LineStyle{Color: colGrey, Width: vg.Points(2.2)}}
		f.p.Add(bound)
	}
	for _, st := range []string{StrategyDirect, StrategyRelay} {
		for _, s := range summariesOf(sums, st) {
			addReference(f, st, s.DeliveryRatio, x0, x1, fmt.Sprintf("%s: %s", refStyle[st].label, percentString(s.DeliveryRatio, 1)))
		}
	}
	if bound != nil {
		f.leg.Add(fmt.Sprintf("reachable (bound): %s", percentString(reachableRatio(sums), 1)), bound)
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
	bounds := func(s Summary) (float64, float64, float64) {
		y, ci := val(s)
		return y, y - ci, y + ci
	}
	for _, st := range []string{StrategyFlood, StrategyFloodNoAck} {
		addSeries(f, summariesOf(sums, st), st, dodge(sums, st), bounds, lo, hi)
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
