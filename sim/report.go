package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/toxmail/toxmail/internal/plural"
	"github.com/toxmail/toxmail/mesh"
)

// The names of the files WriteOutputs writes, besides the plots.
const (
	reportTxtFile  = "report.txt"
	reportJSONFile = "report.json"
	runsCSVFile    = "runs.csv"
	summaryCSVFile = "summary.csv"
	latencyCSVFile = "latency_cdf.csv"
)

// OutputFiles lists the files WriteOutputs writes, by name.
func OutputFiles() []string {
	out := []string{reportTxtFile, reportJSONFile, runsCSVFile, summaryCSVFile, latencyCSVFile}
	for _, name := range plotNames {
		out = append(out, name+".png", name+".svg")
	}
	return out
}

// CheckOutputDir reports why WriteOutputs could not write into dir without
// stopping part way: dir is there and not a directory, or one of its
// OutputFiles is there and not a regular file (a symbolic link counts as
// what it points to, which WriteOutputs writes through), or cannot be
// looked at. A dir that does not exist yet is fine. It does not try
// writing (see WriteOutputs).
func CheckOutputDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("sim: output directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("sim: output directory %s is there and is not a directory", dir)
	}
	for _, name := range OutputFiles() {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("sim: output directory: %w", err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("sim: %s is there and is not a regular file, where the report would write %s", path, name)
		}
	}
	return nil
}

// WriteOutputs creates dir (0755) and writes every output of r into it:
// report.txt (WriteTable), report.json (WriteJSON), runs.csv, summary.csv
// and latency_cdf.csv (WriteCSV), and the plots (WritePlots). It checks
// dir first (CheckOutputDir), so that a name taken by a directory does not
// leave old and new files mixed.
func WriteOutputs(dir string, r *Report) error {
	if err := CheckOutputDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sim: output directory: %w", err)
	}
	var txt, js bytes.Buffer
	if err := WriteTable(&txt, r); err != nil {
		return err
	}
	if err := WriteJSON(&js, r); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, reportTxtFile), txt.Bytes(), 0o644); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, reportJSONFile), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := WriteCSV(dir, r); err != nil {
		return err
	}
	return WritePlots(dir, r)
}

// WriteJSON writes r as one indented JSON document followed by a newline.
// Identical reports give identical bytes: NaN and ±Inf (which JSON cannot
// carry) are written as 0, nil slices as [], and r is not modified.
func WriteJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(cleanReport(r), "", "  ")
	if err != nil {
		return fmt.Errorf("sim: encoding the report: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// WriteTable writes a human-readable summary of r: what was simulated, one
// row per strategy and TTL (means over the seeds), and the smallest TTL at
// which flood delivered 99% of the mail.
func WriteTable(w io.Writer, r *Report) error {
	r = cleanReport(r)
	var b bytes.Buffer

	g := r.Graph
	asked := ""
	if g.Degree != nil && math.Abs(g.MeanDegree-*g.Degree) > 0.1**g.Degree {
		// ba and hk fall short on few nodes: the first nodes have
		// fewer to attach to.
		asked = fmt.Sprintf(" (asked for %s)", trimFloat(*g.Degree, 2))
	}
	fmt.Fprintf(&b, "graph:     %s, %s, %s, mean degree %s%s, max degree %d\n",
		dashIfEmpty(g.Kind), plural.Count(g.Nodes, "node"), plural.Count(g.Edges, "edge"), trimFloat(g.MeanDegree, 2), asked, g.MaxDegree)
	c := r.Churn
	churn := fmt.Sprintf("%s, %s available", dashIfEmpty(c.Model), percentString(c.Availability, 1))
	if c.Model == "none" {
		churn = "none: every node always online"
	} else if c.MeanOnS > 0 || c.MeanOffS > 0 {
		churn += fmt.Sprintf(", mean on %s, mean off %s", humanSeconds(c.MeanOnS), humanSeconds(c.MeanOffS))
	}
	if c.AlwaysOn > 0 && c.Model != "none" {
		churn += fmt.Sprintf(", %s of nodes always on (%s of nodes online)", percentString(c.AlwaysOn, 0), percentString(c.OnlineFraction, 1))
	}
	fmt.Fprintf(&b, "churn:     %s\n", churn)
	st := r.Study
	pairs := "between random pairs"
	if st.Distance > 0 {
		pairs = fmt.Sprintf("to recipients %s away", plural.Count(st.Distance, "link"))
	}
	fmt.Fprintf(&b, "workload:  %s per run %s", plural.Count(r.Messages, "message"), pairs)
	if st.WindowS > 0 {
		fmt.Fprintf(&b, ", created over the first %s", spanString(st.WindowS))
	}
	fmt.Fprintf(&b, "; %s simulated", daysString(r.Days, 2))
	if st.LifetimeS > 0 {
		fmt.Fprintf(&b, ", lifetime %s", spanString(st.LifetimeS))
	}
	b.WriteByte('\n')
	switch {
	case st.Seeds > 1:
		fmt.Fprintf(&b, "seeds:     %d to %d, each its own mails, keys and churn, on the graph of seed %d\n", st.Seed, st.Seed+uint64(st.Seeds-1), st.GraphSeed)
	case st.Seeds == 1 && st.GraphSeed != st.Seed:
		fmt.Fprintf(&b, "seed:      %d, on the graph of seed %d\n", st.Seed, st.GraphSeed)
	case st.Seeds == 1:
		fmt.Fprintf(&b, "seed:      %d\n", st.Seed)
	}
	sums := reportSummaries(r)
	reach := reachableRatio(sums)
	if len(sums) > 0 {
		fmt.Fprintf(&b, "reachable: %s of the mail (its recipient was online after its sender, before it expired): no strategy delivers more\n",
			percentString(reach, 1))
	}
	b.WriteByte('\n')

	if len(sums) == 0 {
		b.WriteString("no runs\n")
		_, err := w.Write(b.Bytes())
		return err
	}

	nameW := len("strategy")
	multi, fixed, partial := false, false, false
	for _, s := range sums {
		nameW = max(nameW, len(s.Strategy))
		multi = multi || s.Runs > 1
		fixed = fixed || !isFloodStrategy(s.Strategy)
	}
	// Right-aligned columns; the strategy names are padded to one width so
	// they read left-aligned.
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 8, 2, ' ', tabwriter.AlignRight)
	head := []string{fmt.Sprintf("%-*s", nameW, "strategy"), "ttl", "runs", "delivery",
		"lat p50", "lat p90", "lat p99", "hops", "ack p50", "frames/del", "bytes/del",
		"peak held/node", "mean held/node", "dups"}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, s := range sums {
		ttl := fmt.Sprint(s.TTL)
		if !isFloodStrategy(s.Strategy) {
			ttl += "*"
		}
		del := percentString(s.DeliveryRatio, 1)
		if s.Runs > 1 {
			del += " (" + trimFixed(100*s.DeliveryRatioLo, 1) + "–" + trimFixed(100*s.DeliveryRatioHi, 1) + ")"
		}
		p50, p90, p99, hops, ack, fpd, bpd := "-", "-", "-", "-", "-", "-", "-"
		if s.AckLatencyP50 > 0 {
			ack = humanSeconds(s.AckLatencyP50)
		}
		if s.RunsDelivering > 0 {
			p50, p90, p99 = humanSeconds(s.LatencyP50), humanSeconds(s.LatencyP90), humanSeconds(s.LatencyP99)
			hops = trimFixed(s.HopsMean, 1)
			if s.RunsDelivering < s.Runs {
				p50 += "†"
				partial = true
			}
			fpd = humanCount(s.FramesPerDelivery)
			bpd = humanBytes(s.BytesPerDelivery)
		}
		row := []string{fmt.Sprintf("%-*s", nameW, s.Strategy), ttl, fmt.Sprint(s.Runs), del,
			p50, p90, p99, hops, ack, fpd, bpd,
			humanBytes(s.PeakHeldBytes), humanBytes(s.MeanHeldBytes), fmt.Sprint(s.Duplicates)}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// AlignRight pads every line's first cell on the left too.
	for line := range strings.Lines(tb.String()) {
		b.WriteString(strings.TrimPrefix(line, "  "))
	}
	b.WriteByte('\n')
	if fixed {
		b.WriteString("* fixed hop count: direct is TTL 1 (sender to recipient), relay TTL 2 (via the relay)\n")
	}
	if hops := int(mesh.DefaultConfig().MaxHops); overHops(sums, hops) {
		fmt.Fprintf(&b, "TTL above %d: the simulated nodes' max_hops is raised to the TTL; real nodes cap hops at their mesh.max_hops, %d unless raised\n", hops, hops)
	}
	if multi {
		b.WriteString("delivery (lo–hi): its 95% confidence interval over the seeds (Student's t), in percent, kept within 0–100\n" +
			"  and widened to hold the Wilson interval of all the seeds' mails\n")
	}
	b.WriteString("latency: creation to the recipient's inbox, over delivered mail; hops: friend links it travelled;\n" +
		"ack: creation to the sender seeing the ack, over the mails whose ack arrived (fewer than delivered,\n" +
		"  so its percentiles may be below the latency's); frames and bytes per delivered mail;\n" +
		"peak held/node: the most any one node held at once\n")
	if multi {
		b.WriteString("over seeds: latencies, hops and peak held are the mean of each seed's; frames and bytes are all sent over all delivered\n")
	}
	if partial {
		b.WriteString("† some seeds delivered nothing: the latencies are those of the seeds that delivered\n")
	}

	for _, st := range []string{StrategyFlood, StrategyFloodNoAck} {
		if line := reachesLine(sums, st, reach); line != "" {
			b.WriteString(line + "\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// reachesLine says at which TTL of those tried strategy st first delivered
// 99% of the mail, and 99% of the reachable mail, naming the TTLs between
// it and the highest tried below it, which the study skipped and where the
// bar may have been reached already; or the best it did when no TTL
// reached the bar. "" if st was not run.
func reachesLine(sums []Summary, st string, reach float64) string {
	var runs []Summary
	for _, s := range sums {
		if s.Strategy == st {
			runs = append(runs, s)
		}
	}
	if len(runs) == 0 {
		return ""
	}
	slices.SortFunc(runs, func(a, b Summary) int { return a.TTL - b.TTL })
	// at describes the first TTL whose ratio (over the base share of the
	// mail) reaches 99%.
	at := func(base float64, of string) string {
		below, best := 0, runs[0]
		for _, s := range runs {
			if base > 0 && s.DeliveryRatio >= 0.99*base-1e-9 {
				out := fmt.Sprintf("at TTL %d", s.TTL)
				switch {
				case s.TTL == below+2:
					out += fmt.Sprintf(" (%d not tried)", below+1)
				case s.TTL > below+2:
					out += fmt.Sprintf(" (%d–%d not tried)", below+1, s.TTL-1)
				}
				return out
			}
			below = s.TTL
			if s.DeliveryRatio > best.DeliveryRatio {
				best = s
			}
		}
		if base <= 0 {
			return "at no TTL (none was reachable)"
		}
		return fmt.Sprintf("at no TTL tried (at most %s%s, at TTL %d)", percentString(best.DeliveryRatio/base, 1), of, best.TTL)
	}
	return fmt.Sprintf("%s: 99%% of all mail delivered %s; 99%% of the reachable mail %s",
		st, at(1, ""), at(reach, " of it"))
}

// overHops reports whether sums has a flood TTL above hops.
func overHops(sums []Summary, hops int) bool {
	return slices.ContainsFunc(sums, func(s Summary) bool { return isFloodStrategy(s.Strategy) && s.TTL > hops })
}

// reachableRatio is the share of the mail that was reachable, averaged
// over the seeds (every strategy of a seed sees the same).
func reachableRatio(sums []Summary) float64 {
	for _, s := range sums {
		return s.ReachableRatio // identical in every summary of a study
	}
	return 0
}

// isFloodStrategy reports whether s runs at every TTL of the study (the
// others have a fixed hop count).
func isFloodStrategy(s string) bool {
	return s == StrategyFlood || s == StrategyFloodNoAck
}

// reportSummaries returns r's summaries, computing them from the runs when
// the report has none.
func reportSummaries(r *Report) []Summary {
	if len(r.Summaries) == 0 && len(r.Runs) > 0 {
		return summarise(r.Runs)
	}
	return r.Summaries
}

// cleanReport returns a copy of r in which every NaN or infinite float
// that JSON would carry is 0 and every nil slice is empty. It shares
// nothing that it changes with r; fields JSON leaves out (Latencies) are
// shared as they are.
func cleanReport(r *Report) *Report {
	if r == nil {
		return &Report{Runs: []Result{}, Summaries: []Summary{}}
	}
	c := *r
	cleanValue(reflect.ValueOf(&c).Elem())
	return &c
}

// cleanValue rewrites the addressable v in place, copying slices, maps and
// pointees before it changes them so that the values v shared are left
// alone.
func cleanValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			v.SetFloat(0)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			cleanValue(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			cleanValue(v.Index(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // []byte is base64, nothing to clean
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		v.Set(n)
		for i := range n.Len() {
			cleanValue(n.Index(i))
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(v.Elem())
		v.Set(p)
		cleanValue(p.Elem())
	case reflect.Map:
		if v.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			cleanValue(e)
			m.SetMapIndex(it.Key(), e)
		}
		v.Set(m)
	}
}

// daysString is d days, with at most decimals decimals: "1 day", "0.5 days";
// less than a day that so many decimals would not show exactly is in
// hours, minutes or seconds ("14.4m", not "0 days").
func daysString(d float64, decimals int) string {
	if shown, err := strconv.ParseFloat(trimFloat(d, decimals), 64); d > 0 && d < 1 && (err != nil || math.Abs(shown-d) > 1e-9) {
		return humanSeconds(d * 86400)
	}
	if s := trimFloat(d, decimals); s != "1" {
		return s + " days"
	}
	return "1 day"
}

// spanString is a span of secs seconds: in days when it is whole days
// ("1 day", "7 days"), else as humanSeconds does ("90.0m").
func spanString(secs float64) string {
	if d := secs / 86400; d >= 1 && d == math.Trunc(d) {
		return daysString(d, 0)
	}
	return humanSeconds(secs)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// percentString formats a ratio as a percentage with the given decimals.
func percentString(ratio float64, decimals int) string {
	return trimFixed(100*ratio, decimals) + "%"
}

// trimFixed formats x with the given decimals.
func trimFixed(x float64, decimals int) string {
	return fmt.Sprintf("%.*f", decimals, x)
}

// trimFloat formats x with at most the given decimals, without trailing
// zeros.
func trimFloat(x float64, decimals int) string {
	s := fmt.Sprintf("%.*f", decimals, x)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// humanSeconds formats a duration in seconds the way people read them:
// "0.4s", "42s", "7.5m", "3.1h", "1.2d".
func humanSeconds(s float64) string {
	switch a := math.Abs(s); {
	case a < 10:
		return trimFloat(s, 1) + "s"
	case a < 60:
		return trimFixed(s, 0) + "s"
	case a < 3600:
		return oneDecimal(s/60) + "m"
	case a < 86400:
		return oneDecimal(s/3600) + "h"
	default:
		return oneDecimal(s/86400) + "d"
	}
}

// oneDecimal formats x with one decimal below 100 and none above.
func oneDecimal(x float64) string {
	if math.Abs(x) >= 99.95 {
		return trimFixed(x, 0)
	}
	return trimFixed(x, 1)
}

// humanBytes formats a byte count in binary units: "512 B", "4.0 KiB",
// "1.3 MiB".
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for math.Abs(n) >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return trimFixed(n, 0) + " B"
	}
	return oneDecimal(n) + " " + units[i]
}

// humanCount formats a count that may be fractional: "3.5", "42", "1.2k",
// "3.4M".
func humanCount(x float64) string {
	switch a := math.Abs(x); {
	case a < 10:
		return trimFloat(x, 2)
	case a < 1000:
		return trimFloat(x, 1)
	case a < 1e6:
		return oneDecimal(x/1e3) + "k"
	default:
		return oneDecimal(x/1e6) + "M"
	}
}
