package sim

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// plotFiles lists the files WritePlots writes.
func plotFiles() []string {
	var out []string
	for _, n := range []string{"delivery_vs_ttl", "latency_cdf", "overhead_vs_ttl", "overhead_bytes_vs_ttl"} {
		out = append(out, n+".png", n+".svg")
	}
	return out
}

// checkPlots checks that every plot file in dir is a PNG of the expected
// size or a well-formed SVG (only SVGs with svgOnly).
func checkPlots(t *testing.T, dir string, svgOnly bool) {
	t.Helper()
	for _, name := range plotFiles() {
		if svgOnly && !strings.HasSuffix(name, ".svg") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if strings.HasSuffix(name, ".svg") {
			if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("</svg>")) {
				t.Errorf("%s is not an SVG", name)
			}
			d := xml.NewDecoder(bytes.NewReader(b))
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Errorf("%s: %v", name, err)
					break
				}
			}
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// 20 × 12 cm at 150 dpi.
		if sz := img.Bounds().Size(); sz.X != 1181 || sz.Y != 709 {
			t.Errorf("%s is %v, want 1181×709", name, sz)
		}
	}
}

func TestWritePlotsReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rep := synthReport(8, 3)
	if err := WritePlots(dir, rep); err != nil {
		t.Fatal(err)
	}
	checkPlots(t, dir, false)
	// Optionally keep a copy to look at.
	if out := os.Getenv("SIM_PLOT_DIR"); out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteOutputs(out, rep); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWritePlotsEdgeCases(t *testing.T) {
	t.Parallel()
	directOnly := synthReport(1, 1)
	directOnly.Runs = directOnly.Runs[:1]
	directOnly.Summaries = summarise(directOnly.Runs)

	noDelivery := synthReport(3, 2)
	for i := range noDelivery.Runs {
		r := &noDelivery.Runs[i]
		r.Delivered, r.DeliveryRatio, r.Latencies = 0, 0, nil
		r.LatencyS, r.FramesPerDelivery, r.BytesPerDelivery = Quantiles{}, 0, 0
	}
	noDelivery.Summaries = summarise(noDelivery.Runs)

	zeroLatency := synthReport(2, 1)
	for i := range zeroLatency.Runs {
		for j := range zeroLatency.Runs[i].Latencies {
			zeroLatency.Runs[i].Latencies[j] = 0
		}
	}

	narrow := synthReport(3, 1) // latencies within two decades: linear axis
	for i := range narrow.Runs {
		for j := range narrow.Runs[i].Latencies {
			narrow.Runs[i].Latencies[j] = 3600 + float64(j)
		}
	}

	floodZero := synthReport(4, 2) // flood delivers nothing at TTL 1
	for i := range floodZero.Runs {
		if r := &floodZero.Runs[i]; r.Strategy == StrategyFlood && r.TTL == 1 {
			r.Delivered, r.DeliveryRatio, r.Latencies, r.FramesPerDelivery, r.BytesPerDelivery = 0, 0, nil, 0, 0
		}
	}
	floodZero.Summaries = summarise(floodZero.Runs)

	manyTTL := synthReport(40, 1)

	// Rasterising is slow under the race detector: the PNGs of one case
	// are checked, the rest only as SVG (the same drawing).
	for name, rep := range map[string]*Report{
		"empty":        {},
		"direct only":  directOnly,
		"no delivery":  noDelivery,
		"single TTL":   synthReport(1, 1),
		"zero latency": zeroLatency,
		"narrow":       narrow,
		"flood zero":   floodZero,
		"many TTLs":    manyTTL,
		"no summaries": {Runs: synthReport(3, 2).Runs},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			formats := []string{"svg"}
			if name == "no delivery" {
				formats = append(formats, "png")
			}
			if err := writePlots(dir, rep, formats...); err != nil {
				t.Fatal(err)
			}
			checkPlots(t, dir, len(formats) == 1)
			if out := os.Getenv("SIM_PLOT_DIR"); out != "" {
				sub := filepath.Join(out, strings.ReplaceAll(name, " ", "-"))
				if err := os.MkdirAll(sub, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := WritePlots(sub, rep); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestPlotCDFCurves(t *testing.T) {
	rep := synthReport(8, 2)
	cs := cdfCurves(rep)
	if len(cs) != 8 {
		t.Fatalf("%d curves, want direct, relay and 6 flood TTLs", len(cs))
	}
	if cs[0].strategy != StrategyDirect || cs[1].strategy != StrategyRelay {
		t.Errorf("first curves %s %s", cs[0].strategy, cs[1].strategy)
	}
	var ttls []int
	for _, c := range cs[2:] {
		if c.strategy != StrategyFlood {
			t.Errorf("curve %s", c.strategy)
		}
		ttls = append(ttls, c.ttl)
	}
	if ttls[0] != 1 || ttls[len(ttls)-1] != 8 {
		t.Errorf("flood TTLs %v do not span 1..8", ttls)
	}
	// Pooled over seeds: created adds up, and the curve ends at the
	// pooled delivery ratio.
	c := cs[0]
	if c.created != 400 {
		t.Errorf("direct created %d, want 400", c.created)
	}
	pts := cdfPoints(c, 0.01, 500)
	last := pts[len(pts)-1]
	if want := float64(len(c.lat)) / 400; last.X != 500 || last.Y != want {
		t.Errorf("curve ends at %v, want (500, %v)", last, want)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].X < pts[i-1].X || pts[i].Y < pts[i-1].Y {
			t.Fatalf("curve not monotone at %d: %v %v", i, pts[i-1], pts[i])
		}
	}
}

// TestPlotDurationTicks: a log axis of latencies is labelled in
// durations, whatever the unit of its values, at most 9 of them.
func TestPlotDurationTicks(t *testing.T) {
	for _, c := range []struct {
		perHour float64
		lo, hi  float64 // hours
		want    string
	}{
		{1, 0.5 / 3600, 8 * 24, "1 s,10 s,1 min,10 min,1 h,6 h,1 d,7 d"},
		{3600, 0.5 / 3600, 2, "1 s,10 s,1 min,10 min,1 h"},
		{1, 0.0005 / 3600, 400 * 24, "1 ms,1 s,1 min,1 h,1 d,1 y"}, // past 9: the round ones
		{60, 0.5 / 3600, 1.5, "1 s,10 s,1 min,10 min,1 h"},         // in minutes
		{3600, 0.002 / 3600, 0.05 / 3600, "10 ms"},                 // one mark in range
	} {
		var got []string
		minor := 0
		for _, tk := range (durationTicks{c.perHour}).Ticks(c.lo*c.perHour, c.hi*c.perHour) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			} else {
				minor++
			}
		}
		if strings.Join(got, ",") != c.want || minor == 0 && len(got) > 1 {
			t.Errorf("%v–%v h in units of 1/%v h: labels %v and %d unlabelled ticks, want %s and some", c.lo, c.hi, c.perHour, got, minor, c.want)
		}
	}
}

func TestPlotTicks(t *testing.T) {
	labels := func(ts []string) string { return strings.Join(ts, ",") }
	var got []string
	for _, tk := range (logTicks{}).Ticks(0.02, 300) {
		if tk.Label != "" && tk.Value >= 0.02 && tk.Value <= 300 {
			got = append(got, tk.Label)
		}
	}
	if labels(got) != "0.1,1,10,100" {
		t.Errorf("decimal log ticks %v", got)
	}
	got = nil
	for _, tk := range (logTicks{binary: true}).Ticks(3000, 70000) {
		if tk.Label != "" && tk.Value >= 3000 && tk.Value <= 70000 {
			got = append(got, tk.Label)
		}
	}
	if labels(got) != "4 KiB,8 KiB,16 KiB,32 KiB,64 KiB" {
		t.Errorf("binary log ticks %v", got)
	}
	// 7 KiB to 431 MiB (a 100,000-node flood): a label every 16×,
	// up to the top of the data.
	got = nil
	for _, tk := range (logTicks{binary: true}).Ticks(7<<10, 431<<20) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if labels(got) != "64 KiB,1 MiB,16 MiB,256 MiB" {
		t.Errorf("binary log ticks over five decades %v", got)
	}
	got = nil
	for _, tk := range (ttlTicks{}).Ticks(0.6, 8.4) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if labels(got) != "1,2,3,4,5,6,7,8" {
		t.Errorf("TTL ticks %v", got)
	}
}

// The latency axis reads in the unit the data needs: a no-churn run's
// sub-second latencies get seconds and several labelled ticks, not one
// "0" on an axis of hours.
func TestPlotLatencyUnit(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64 // seconds
		unit   string
	}{
		{0.2, 0.9, "seconds"},
		{5, 100, "seconds"},
		{30, 3000, "minutes"},
		{600, 5 * 3600, "hours"},
		{3600, 7 * 24 * 3600, "log scale"}, // past two decades: a log axis, in durations
	} {
		rep := synthReport(2, 1)
		for i := range rep.Runs {
			lat := rep.Runs[i].Latencies
			for j := range lat {
				lat[j] = c.lo + (c.hi-c.lo)*float64(j)/float64(max(len(lat)-1, 1))
			}
		}
		f := latencyFigure(rep)
		if want := "latency (" + c.unit + ")"; f.xLabel != want {
			t.Errorf("latencies %v–%v s: axis %q, want %q", c.lo, c.hi, f.xLabel, want)
		}
		var labels []string
		for _, tk := range f.p.X.Tick.Marker.Ticks(f.p.X.Min, f.p.X.Max) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if len(labels) < 3 || len(labels) > 10 {
			t.Errorf("latencies %v–%v s: tick labels %v, want 3 to 10", c.lo, c.hi, labels)
		}
		// The axis spans the data in its unit.
		u := latencyUnitFor(c.hi / 3600)
		if f.p.X.Max < c.hi/3600*u.perHour {
			t.Errorf("latencies %v–%v s: axis ends at %v %s", c.lo, c.hi, f.p.X.Max, c.unit)
		}
	}
}

// flood and flood-noack, often alike, are drawn side by side around each
// TTL so that neither hides the other; one alone sits on its TTL.
// TestPlotDeliveryBars: the delivery bars run from the interval's lower
// bound to its upper one, which need not be the same distance from the
// mean; one seed draws none.
func TestPlotDeliveryBars(t *testing.T) {
	ss := []Summary{
		{TTL: 1, Runs: 3, DeliveryRatio: 0.02, DeliveryRatioLo: 0, DeliveryRatioHi: 0.1, DeliveryRatioCI: 0.3},
		{TTL: 2, Runs: 3, DeliveryRatio: 0.5, DeliveryRatioLo: 0.45, DeliveryRatioHi: 0.6},
		{TTL: 3, Runs: 1, DeliveryRatio: 0.9, DeliveryRatioLo: 0.85, DeliveryRatioHi: 0.95},
	}
	xys, errs, bars, cut := seriesPoints(ss, 0, deliveryBounds, 0, 1)
	want := plotter.YErrors{{Low: 0.02, High: 0.08}, {Low: 0.05, High: 0.1}, {Low: 0, High: 0}}
	if len(xys) != 3 || !bars || cut {
		t.Fatalf("%d points, bars %v, cut %v; want 3, true, false", len(xys), bars, cut)
	}
	for i := range want {
		if math.Abs(errs[i].Low-want[i].Low) > 1e-12 || math.Abs(errs[i].High-want[i].High) > 1e-12 {
			t.Errorf("TTL %d: bar %+v, want %+v", ss[i].TTL, errs[i], want[i])
		}
	}
	// Bars past the axis are cut there, and say so.
	if _, errs, _, cut := seriesPoints(ss[1:2], 0, deliveryBounds, 0.48, 0.55); !cut || math.Abs(errs[0].Low-0.02) > 1e-12 || math.Abs(errs[0].High-0.05) > 1e-12 {
		t.Errorf("cut at [0.48, 0.55]: %+v, cut %v", errs, cut)
	}
}

func TestPlotDodge(t *testing.T) {
	both := reportSummaries(synthReport(4, 2))
	if a, b := dodge(both, StrategyFlood), dodge(both, StrategyFloodNoAck); a >= 0 || b <= 0 || a != -b {
		t.Errorf("both drawn: flood at %+v, flood-noack at %+v; want opposite sides", a, b)
	}
	one := summariesOf(both, StrategyFlood)
	if d := dodge(one, StrategyFlood); d != 0 {
		t.Errorf("flood alone moved %v", d)
	}
}
