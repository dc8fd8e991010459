package sim

// What every figure draws besides its data: grid lines, centred text and
// the tick marks of its axes.

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

type gridLines struct{}

func (gridLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	major := draw.LineStyle{Color: color.Gray{Y: 210}, Width: vg.Points(0.6)}
	minor := draw.LineStyle{Color: color.Gray{Y: 236}, Width: vg.Points(0.5)}
	for _, pass := range []bool{true, false} { // minor lines first, under the major ones
		sty := major
		if pass {
			sty = minor
		}
		for _, v := range gridValues(&p.X, pass) {
			x := trX(v)
			c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
		}
		for _, v := range gridValues(&p.Y, pass) {
			y := trY(v)
			c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
		}
	}
}

// gridValues returns the values of axis a's minor ticks (or its major
// ones) that lie within its range.
func gridValues(a *plot.Axis, minor bool) []float64 {
	var out []float64
	for _, t := range a.Tick.Marker.Ticks(a.Min, a.Max) {
		if t.IsMinor() == minor && t.Value >= a.Min && t.Value <= a.Max {
			out = append(out, t.Value)
		}
	}
	return out
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

// latencyUnit is the unit a latency axis reads in: the first whose range
// holds the longest latency shown, so that a no-churn run's sub-second
// latencies do not all sit at "0 hours".
type latencyUnit struct {
	name    string    // for the axis label: "latency (seconds)"
	perHour float64   // units in an hour
	below   float64   // hours: used while the longest latency is shorter
	steps   []float64 // tick steps in this unit, that read well in it
}

var latencyUnits = []latencyUnit{
	{"seconds", 3600, 2.0 / 60, []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30}},
	{"minutes", 60, 2, []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60}},
	{"hours", 1, math.Inf(1), []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 1440, 2880}},
}

// latencyUnitFor returns the unit for latencies of at most maxHours.
func latencyUnitFor(maxHours float64) latencyUnit {
	for _, u := range latencyUnits {
		if maxHours < u.below {
			return u
		}
	}
	return latencyUnits[len(latencyUnits)-1]
}

// durationTicks marks a log axis of latencies, in units of which perHour
// make an hour, at durations that read as such (1 s, 10 s, 1 min, 10 min,
// 1 h, 6 h, 1 d, 7 d …), with the log axis's unlabelled ticks between
// them: "0.0001" hours says less than "1 s". Past 9 labels only the round
// ones stay (1 ms, 1 s, 1 min, 1 h, 1 d, 1 y), and past 9 of those every
// other one.
type durationTicks struct{ perHour float64 }

// durationMarks are the labelled latencies, in seconds, with their labels;
// round ones stay on the widest axes.
var durationMarks = []struct {
	s     float64
	label string
	round bool
}{
	{0.001, "1 ms", true}, {0.01, "10 ms", false}, {0.1, "0.1 s", false}, {1, "1 s", true},
	{10, "10 s", false}, {60, "1 min", true}, {600, "10 min", false}, {3600, "1 h", true},
	{6 * 3600, "6 h", false}, {86400, "1 d", true}, {7 * 86400, "7 d", false},
	{30 * 86400, "30 d", false}, {365 * 86400, "1 y", true},
}

// Ticks implements plot.Ticker.
func (t durationTicks) Ticks(lo, hi float64) []plot.Tick {
	var all, round []plot.Tick
	for _, m := range durationMarks {
		if v := m.s / 3600 * t.perHour; v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
			tk := plot.Tick{Value: v, Label: m.label}
			all = append(all, tk)
			if m.round {
				round = append(round, tk)
			}
		}
	}
	major := all
	if len(major) > 9 {
		major = round
	}
	for every := 2; len(major) > 9; every++ {
		major = nil
		for i, tk := range round {
			if i%every == 0 {
				major = append(major, tk)
			}
		}
	}
	out := slices.Clone(major)
	for _, tk := range (logTicks{}).Ticks(lo, hi) {
		if !slices.ContainsFunc(major, func(m plot.Tick) bool { return math.Abs(m.Value-tk.Value) <= 1e-9*tk.Value }) {
			out = append(out, plot.Tick{Value: tk.Value})
		}
	}
	slices.SortFunc(out, func(a, b plot.Tick) int { return cmp.Compare(a.Value, b.Value) })
	return out
}

// stepTicks marks a linear axis at the first of steps that gives at most
// 9 labels, with one minor tick between labels.
type stepTicks []float64

func (steps stepTicks) Ticks(lo, hi float64) []plot.Tick {
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
