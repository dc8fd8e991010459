package sim

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// synthRun builds one run's result: created mails, ratio of them delivered
// with log-normal latencies (median med seconds, sigma), and frames/bytes
// per delivery.
func synthRun(rng *rand.Rand, strategy string, ttl int, seed uint64, created int, ratio, med, sigma, frames, bytesPer float64) Result {
	delivered := int(math.Round(ratio * float64(created)))
	lat := make([]float64, delivered)
	for i := range lat {
		l := med * math.Exp(sigma*rng.NormFloat64())
		lat[i] = math.Round(min(max(l, 20), 7*86400)*10) / 10
	}
	slices.Sort(lat)
	r := Result{
		Strategy: strategy, TTL: ttl, Seed: seed, Nodes: 1000,
		Created: created, Delivered: delivered, DeliveryRatio: float64(delivered) / float64(created),
		LatencyS: quantiles(lat), AcksSeen: delivered, AckLatencyS: quantiles(lat),
		HopsMean: math.Min(float64(ttl), 3), HopsMax: ttl,
		Latencies: lat,
	}
	if delivered > 0 {
		r.Frames = uint64(frames * float64(delivered))
		r.Bytes = uint64(bytesPer * float64(delivered))
		r.FramesPerDelivery = float64(r.Frames) / float64(delivered)
		r.BytesPerDelivery = float64(r.Bytes) / float64(delivered)
	}
	r.HelloFrames = 5000
	r.Offers = r.Frames / 3
	r.PeakHeldBytesPerNode = int64(bytesPer * float64(ttl) * 4)
	r.MeanHeldBytesPerNode = bytesPer * float64(ttl) / 3
	r.Events = 123456
	return r
}

// synthReport is a realistic study: TTL 1..maxTTL with flood delivery
// rising from 0.3 to 0.995, latencies from minutes to days, direct at 0.6
// and relay at 0.97, over seeds seeds.
func synthReport(maxTTL, seeds int) *Report {
	rng := rand.New(rand.NewPCG(7, 11))
	rep := &Report{
		Graph:    GraphInfo{Kind: "hk", Nodes: 1000, Edges: 9981, MeanDegree: 19.962, MaxDegree: 87},
		Churn:    ChurnInfo{Model: "kad", Availability: 0.2817, MeanOnS: 14400, MeanOffS: 43200, AlwaysOn: 0.1, OnlineFraction: 0.3535},
		Messages: 200,
		Days:     7,
		Study: StudyInfo{TTLs: []int{1, 2, 3}, Strategies: Strategies, Seed: 1, Seeds: seeds, GraphSeed: 1,
			WindowS: 86400, SizeMedian: 4096, SizeSigma: 1, SizeMax: 1 << 20, LifetimeS: 7 * 86400},
	}
	const created = 200
	for k := range seeds {
		seed := uint64(1 + k)
		jit := func(x float64) float64 { return x * (1 + 0.03*rng.NormFloat64()) }
		rep.Runs = append(rep.Runs,
			synthRun(rng, StrategyDirect, 1, seed, created, min(jit(0.6), 1), 30*3600, 1.0, 6, 9000),
			synthRun(rng, StrategyRelay, 2, seed, created, min(jit(0.97), 1), 5*3600, 1.2, 9, 14000))
		for _, st := range []string{StrategyFlood, StrategyFloodNoAck} {
			for t := 1; t <= maxTTL; t++ {
				ratio := 0.3 + 0.695*float64(t-1)/float64(max(maxTTL-1, 1))
				ratio = min(1, jit(ratio))
				if t == maxTTL {
					ratio = 0.995
				}
				med := 30 * 3600 / math.Pow(2.2, float64(t-1))
				frames := 5 * math.Pow(2.4, float64(t-1))
				if st == StrategyFloodNoAck {
					frames *= 1.3
				}
				rep.Runs = append(rep.Runs, synthRun(rng, st, t, seed, created, ratio, med, 1.4, jit(frames), jit(frames*2300)))
			}
		}
	}
	for i := range rep.Runs {
		rep.Runs[i].ReachableRatio = 0.999
		rep.Runs[i].Reachable = 200
	}
	rep.Summaries = summarise(rep.Runs)
	return rep
}

func TestReportHumanFormats(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{humanSeconds(0), "0s"},
		{humanSeconds(0.42), "0.4s"},
		{humanSeconds(42), "42s"},
		{humanSeconds(450), "7.5m"},
		{humanSeconds(3.1 * 3600), "3.1h"},
		{humanSeconds(1.2 * 86400), "1.2d"},
		{humanSeconds(400 * 86400), "400d"},
		{humanBytes(512), "512 B"},
		{humanBytes(4096), "4.0 KiB"},
		{humanBytes(1.5 * 1024 * 1024), "1.5 MiB"},
		{humanCount(3.456), "3.46"},
		{humanCount(42), "42"},
		{humanCount(1234), "1.2k"},
		{humanCount(2.5e6), "2.5M"},
		{daysString(1, 1), "1 day"},
		{daysString(7, 1), "7 days"},
		{daysString(0.5, 1), "0.5 days"},
		{daysString(0.01, 1), "14.4m"},
		{daysString(0.00002, 2), "1.7s"},
		{daysString(2.25, 1), "2.2 days"},
		{daysString(0.57, 2), "0.57 days"},
		{daysString(0.07, 2), "0.07 days"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestWriteTableReport(t *testing.T) {
	rep := synthReport(8, 3)
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"graph:", "hk, 1000 nodes, 9981 edges, mean degree 19.96, max degree 87",
		"churn:", "kad, 28.2% available, mean on 4.0h, mean off 12.0h, 10% of nodes always on (35.4% of nodes online)",
		"200 messages per run between random pairs, created over the first 1 day; 7 days simulated, lifetime 7 days",
		"seeds:     1 to 3, each its own mails, keys and churn, on the graph of seed 1",
		"strategy", "ttl", "runs", "delivery", "lat p50", "lat p90", "lat p99",
		"frames/del", "bytes/del", "peak held/node", "mean held/node", "dups",
		"KiB", "delivery (lo–hi): its 95% confidence interval",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// One row per summary, in order.
	rows := 0
	var flood99 int
	for _, s := range rep.Summaries {
		if s.Strategy == StrategyFlood && s.DeliveryRatio >= 0.99 && flood99 == 0 {
			flood99 = s.TTL
		}
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 12 && slices.Contains(Strategies, f[0]) {
			s := rep.Summaries[rows]
			if f[0] != s.Strategy {
				t.Errorf("row %d is %s, want %s", rows, f[0], s.Strategy)
			}
			wantTTL := strconv.Itoa(s.TTL)
			if !isFloodStrategy(s.Strategy) {
				wantTTL += "*"
			}
			if f[1] != wantTTL || f[2] != "3" {
				t.Errorf("row %q: ttl/runs %s %s, want %s 3", line, f[1], f[2], wantTTL)
			}
			rows++
		}
	}
	if rows != len(rep.Summaries) {
		t.Errorf("%d rows, want %d", rows, len(rep.Summaries))
	}
	if flood99 == 0 {
		t.Fatal("synthetic report never reaches 99%")
	}
	if want := "flood: 99% of all mail delivered at TTL " + strconv.Itoa(flood99) + ";"; !strings.Contains(out, want) {
		t.Errorf("table lacks %q", want)
	}
	if want := "reachable: 99.9% of the mail"; !strings.Contains(out, want) {
		t.Errorf("table lacks %q", want)
	}
	// Columns are aligned: every row as long as the header.
	lines := strings.Split(out, "\n")
	var head string
	for _, l := range lines {
		if strings.HasPrefix(l, "strategy") {
			head = l
		}
	}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) >= 12 && slices.Contains(Strategies, f[0]) && utf8.RuneCountInString(l) != utf8.RuneCountInString(head) {
			t.Errorf("row %q not aligned with header %q", l, head)
		}
	}
}

// TestWriteTableHopsNote: a TTL above a node's default max_hops says that
// real nodes would cap it; up to it, nothing is said.
func TestWriteTableHopsNote(t *testing.T) {
	const note = "TTL above 8: the simulated nodes' max_hops is raised to the TTL"
	for _, maxTTL := range []int{8, 9} {
		var b bytes.Buffer
		if err := WriteTable(&b, synthReport(maxTTL, 1)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), note); got != (maxTTL > 8) {
			t.Errorf("TTLs up to %d: note shown %v, want %v:\n%s", maxTTL, got, maxTTL > 8, b.String())
		}
	}
}

func TestWriteTableNo99(t *testing.T) {
	rep := synthReport(3, 1)
	for i := range rep.Summaries {
		rep.Summaries[i].DeliveryRatio = min(rep.Summaries[i].DeliveryRatio, 0.95)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "flood: 99% of all mail delivered at no TTL tried (at most 95.0%, at TTL 3); "+
		"99% of the reachable mail at no TTL tried (at most 95.1% of it, at TTL 3)") {
		t.Errorf("want the no-TTL line:\n%s", out)
	}
	if strings.Contains(out, "(lo–hi)") || strings.Contains(out, "% (") {
		t.Errorf("one seed has no confidence interval:\n%s", out)
	}
}

// TestReachesLine: the line names the lowest TTL tried that reached 99%,
// and the TTLs between it and the highest tried below it, which the study
// skipped and where the bar may have been reached already (below a TTL
// that fell short, a lower one would not reach it).
func TestReachesLine(t *testing.T) {
	sum := func(ttl int, ratio float64) Summary {
		return Summary{Strategy: StrategyFlood, TTL: ttl, DeliveryRatio: ratio}
	}
	tests := []struct {
		name  string
		sums  []Summary
		reach float64
		want  string
	}{
		{"every TTL tried", []Summary{sum(1, 0.5), sum(2, 0.95), sum(3, 1)}, 0.95,
			"flood: 99% of all mail delivered at TTL 3; 99% of the reachable mail at TTL 2"},
		{"a gap below", []Summary{sum(6, 1), sum(1, 0.2)}, 1,
			"flood: 99% of all mail delivered at TTL 6 (2–5 not tried); 99% of the reachable mail at TTL 6 (2–5 not tried)"},
		{"one skipped", []Summary{sum(1, 0.2), sum(3, 0.995)}, 1,
			"flood: 99% of all mail delivered at TTL 3 (2 not tried); 99% of the reachable mail at TTL 3 (2 not tried)"},
		{"the first tried is not 1", []Summary{sum(4, 0.999)}, 1,
			"flood: 99% of all mail delivered at TTL 4 (1–3 not tried); 99% of the reachable mail at TTL 4 (1–3 not tried)"},
		{"never", []Summary{sum(2, 0.8), sum(4, 0.85), sum(3, 0.9)}, 0.9,
			"flood: 99% of all mail delivered at no TTL tried (at most 90.0%, at TTL 3); 99% of the reachable mail at TTL 3"},
		// At the bar exactly: 99% of 0.81 is 0.8019, which floating
		// point makes a hair more (0.8019000000000001).
		{"at the bar", []Summary{sum(1, 0.8019), sum(2, 0.99)}, 0.81,
			"flood: 99% of all mail delivered at TTL 2; 99% of the reachable mail at TTL 1"},
		{"nothing reachable", []Summary{sum(1, 0)}, 0,
			"flood: 99% of all mail delivered at no TTL tried (at most 0.0%, at TTL 1); 99% of the reachable mail at no TTL (none was reachable)"},
	}
	for _, tt := range tests {
		if got := reachesLine(tt.sums, StrategyFlood, tt.reach); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	if got := reachesLine([]Summary{sum(1, 1)}, StrategyFloodNoAck, 1); got != "" {
		t.Errorf("a strategy not run: %q, want nothing", got)
	}
}

func TestWriteTableDirectOnly(t *testing.T) {
	rep := &Report{Graph: GraphInfo{Kind: "er", Nodes: 10}, Churn: ChurnInfo{Model: "none", Availability: 1}, Messages: 5, Days: 1}
	rep.Runs = []Result{{Strategy: StrategyDirect, TTL: 1, Seed: 1, Created: 5}}
	// No summaries: WriteTable computes them.
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "direct") || !strings.Contains(out, "1*") || !strings.Contains(out, "0.0%") {
		t.Errorf("direct row missing:\n%s", out)
	}
	if strings.Contains(out, "99% delivery") {
		t.Errorf("no flood, no 99%% line:\n%s", out)
	}
	b.Reset()
	if err := WriteTable(&b, &Report{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "no runs") {
		t.Errorf("empty report:\n%s", b.String())
	}
}

func TestWriteJSONDeterministic(t *testing.T) {
	rep := synthReport(4, 2)
	var a, b bytes.Buffer
	if err := WriteJSON(&a, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, synthReport(4, 2)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two encodes of the same report differ")
	}
	if !json.Valid(a.Bytes()) || !bytes.HasSuffix(a.Bytes(), []byte("}\n")) {
		t.Fatal("not one JSON document and a newline")
	}
	if !bytes.Contains(a.Bytes(), []byte("\n  \"graph\": {")) {
		t.Error("not indented")
	}
	var back Report
	if err := json.Unmarshal(a.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(rep.Runs) || len(back.Summaries) != len(rep.Summaries) {
		t.Fatalf("decoded %d runs %d summaries, want %d %d", len(back.Runs), len(back.Summaries), len(rep.Runs), len(rep.Summaries))
	}
	if back.Runs[3].LatencyS != rep.Runs[3].LatencyS || back.Summaries[2] != rep.Summaries[2] {
		t.Error("round trip changed values")
	}
	if bytes.Contains(a.Bytes(), []byte("latencies")) {
		t.Error("Latencies must not be in JSON")
	}
}

func TestWriteJSONNaN(t *testing.T) {
	rep := synthReport(2, 1)
	rep.Churn.Availability = math.NaN()
	rep.Runs[0].LatencyS.P50 = math.NaN()
	rep.Runs[1].BytesPerDelivery = math.Inf(1)
	rep.Summaries[0].DeliveryRatioCI = math.Inf(-1)
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Bytes()) {
		t.Fatal("invalid JSON")
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Churn.Availability != 0 || back.Runs[0].LatencyS.P50 != 0 || back.Runs[1].BytesPerDelivery != 0 || back.Summaries[0].DeliveryRatioCI != 0 {
		t.Error("NaN/Inf not replaced by 0")
	}
	// The report itself is untouched.
	if !math.IsNaN(rep.Churn.Availability) || !math.IsNaN(rep.Runs[0].LatencyS.P50) ||
		!math.IsInf(rep.Runs[1].BytesPerDelivery, 1) || !math.IsInf(rep.Summaries[0].DeliveryRatioCI, -1) {
		t.Error("WriteJSON mutated the report")
	}
	// Nil slices are [], not null; a nil report is still a document.
	b.Reset()
	if err := WriteJSON(&b, &Report{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"runs": []`) || !strings.Contains(b.String(), `"summary": []`) {
		t.Errorf("empty report: %s", b.String())
	}
	b.Reset()
	if err := WriteJSON(&b, nil); err != nil || !json.Valid(b.Bytes()) {
		t.Errorf("nil report: %v %s", err, b.String())
	}
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func TestWriteCSVReport(t *testing.T) {
	rep := synthReport(5, 2)
	rep.Runs[0].HopsMean = math.NaN()
	dir := t.TempDir()
	if err := WriteCSV(dir, rep); err != nil {
		t.Fatal(err)
	}

	runs := readCSVFile(t, filepath.Join(dir, "runs.csv"))
	if len(runs) != len(rep.Runs)+1 {
		t.Fatalf("runs.csv has %d rows, want %d", len(runs), len(rep.Runs)+1)
	}
	head := runs[0]
	for _, col := range []string{"strategy", "ttl", "seed", "nodes", "created", "delivered", "delivery_ratio",
		"latency_s_n", "latency_s_mean", "latency_s_p50", "latency_s_p90", "latency_s_p99",
		"acks_seen", "ack_latency_s_p50", "hops_mean", "hops_max", "duplicates", "frames", "bytes",
		"hello_frames", "offers", "frames_per_delivery", "bytes_per_delivery",
		"peak_held_bytes_per_node", "mean_held_bytes_per_node", "events"} {
		if !slices.Contains(head, col) {
			t.Errorf("runs.csv lacks column %s: %v", col, head)
		}
	}
	// Every JSON leaf is a column.
	js, err := json.Marshal(rep.Runs[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(js, &m)
	leaves := 0
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			for k2 := range sub {
				leaves++
				if !slices.Contains(head, k+"_"+k2) {
					t.Errorf("runs.csv lacks column %s_%s", k, k2)
				}
			}
		} else {
			leaves++
		}
	}
	if len(head) != leaves {
		t.Errorf("runs.csv has %d columns, want %d (every JSON field flattened)", len(head), leaves)
	}
	col := func(name string) int { return slices.Index(head, name) }
	if got := runs[1][col("hops_mean")]; got != "0" {
		t.Errorf("NaN hops_mean written as %q", got)
	}
	if got, want := runs[2][col("latency_s_p50")], strconv.FormatFloat(rep.Runs[1].LatencyS.P50, 'f', -1, 64); got != want {
		t.Errorf("latency_s_p50 = %s, want %s", got, want)
	}
	if runs[3][col("strategy")] != rep.Runs[2].Strategy {
		t.Error("rows out of order")
	}

	sum := readCSVFile(t, filepath.Join(dir, "summary.csv"))
	if len(sum) != len(rep.Summaries)+1 {
		t.Fatalf("summary.csv has %d rows, want %d", len(sum), len(rep.Summaries)+1)
	}
	want := []string{"strategy", "ttl", "runs", "runs_delivering", "delivery_ratio", "delivery_ratio_ci95",
		"delivery_ratio_ci95_lo", "delivery_ratio_ci95_hi", "reachable_ratio",
		"latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_p50_ci95", "hops_mean", "ack_latency_p50_s",
		"frames_per_delivery", "frames_per_delivery_ci95", "bytes_per_delivery", "bytes_per_delivery_ci95",
		"peak_held_bytes_per_node", "mean_held_bytes_per_node", "duplicates"}
	if !slices.Equal(sum[0], want) {
		t.Errorf("summary.csv header %v, want %v", sum[0], want)
	}

	cdf := readCSVFile(t, filepath.Join(dir, "latency_cdf.csv"))
	n := 0
	for _, r := range rep.Runs {
		n += len(r.Latencies)
	}
	if len(cdf) != n+1 {
		t.Fatalf("latency_cdf.csv has %d rows, want %d", len(cdf), n+1)
	}
	if !slices.Equal(cdf[0], []string{"strategy", "ttl", "seed", "latency_s", "fraction"}) {
		t.Errorf("latency_cdf.csv header %v", cdf[0])
	}
	// The last row of the first run reaches its delivery ratio.
	r0 := rep.Runs[0]
	last := cdf[len(r0.Latencies)]
	frac, _ := strconv.ParseFloat(last[4], 64)
	if last[0] != r0.Strategy || math.Abs(frac-r0.DeliveryRatio) > 1e-12 {
		t.Errorf("last row of run 0 = %v, want fraction %v", last, r0.DeliveryRatio)
	}
}

func TestWriteCSVEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCSV(dir, &Report{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"runs.csv", "summary.csv", "latency_cdf.csv"} {
		if recs := readCSVFile(t, filepath.Join(dir, name)); len(recs) != 1 {
			t.Errorf("%s: %d rows, want just the header", name, len(recs))
		}
	}
}

func TestWriteOutputsReport(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := WriteOutputs(dir, synthReport(3, 2)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("dir: %v %v", fi, err)
	}
	for _, name := range append([]string{"report.json", "report.txt", "runs.csv", "summary.csv", "latency_cdf.csv"}, plotFiles()...) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A seed that delivered nothing has no latency, and the frames it sent
// make delivered mail dearer: averaging its zeros in would halve both.
func TestSummariseRunsThatDeliveredNothing(t *testing.T) {
	runs := []Result{
		{Strategy: StrategyFlood, TTL: 1, Seed: 1, Created: 10, Delivered: 1, DeliveryRatio: 0.1,
			Frames: 10, Bytes: 1000, HopsMean: 1, AcksSeen: 1,
			LatencyS:    Quantiles{N: 1, P50: 100, P90: 100, P99: 100},
			AckLatencyS: Quantiles{N: 1, P50: 300, P90: 300, P99: 300}},
		{Strategy: StrategyFlood, TTL: 1, Seed: 2, Created: 10, Frames: 50, Bytes: 5000},
	}
	s := summarise(runs)[0]
	if s.Runs != 2 || s.RunsDelivering != 1 {
		t.Errorf("runs %d, delivering %d; want 2 and 1", s.Runs, s.RunsDelivering)
	}
	if s.LatencyP50 != 100 || s.LatencyP99 != 100 || s.HopsMean != 1 || s.AckLatencyP50 != 300 {
		t.Errorf("latency p50 %v, p99 %v, hops %v, ack %v; want those of the seed that delivered (100, 100, 1, 300)",
			s.LatencyP50, s.LatencyP99, s.HopsMean, s.AckLatencyP50)
	}
	if s.FramesPerDelivery != 60 || s.BytesPerDelivery != 6000 {
		t.Errorf("per delivered mail: %v frames, %v bytes; want every frame over every delivery, 60 and 6000",
			s.FramesPerDelivery, s.BytesPerDelivery)
	}
	if s.DeliveryRatio != 0.05 {
		t.Errorf("delivery ratio %v, want the mean 0.05", s.DeliveryRatio)
	}

	var b bytes.Buffer
	if err := WriteTable(&b, &Report{Runs: runs, Summaries: []Summary{s}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1.7m†") || !strings.Contains(b.String(), "† some seeds delivered nothing") {
		t.Errorf("the table does not mark a latency from fewer seeds:\n%s", b.String())
	}
}

// configFromReport is the Config a report says its study had: what a user
// reads off report.json to run it again.
func configFromReport(t *testing.T, r *Report) Config {
	t.Helper()
	c := DefaultConfig()
	secs := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	c.Graph, c.Nodes = r.Graph.Kind, r.Graph.Nodes
	for _, p := range []struct {
		v   *float64
		dst *float64
	}{{r.Graph.Degree, &c.Degree}, {r.Graph.Rewire, &c.Rewire}, {r.Graph.Triad, &c.Triad}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	c.Churn, c.AlwaysOn = r.Churn.Model, r.Churn.AlwaysOn
	c.MeanOn, c.MeanOff = secs(r.Churn.MeanOnS), secs(r.Churn.MeanOffS)
	if w := r.Churn.Weibull; w != nil {
		c.OnShape, c.OnScale, c.OffShape, c.OffScale = w.OnShape, secs(w.OnScaleS), w.OffShape, secs(w.OffScaleS)
	}
	s := r.Study
	c.Messages, c.Days = r.Messages, r.Days
	c.TTLs, c.Strategies, c.Seed, c.Seeds, c.GraphSeed = s.TTLs, s.Strategies, s.Seed, s.Seeds, int64(s.GraphSeed)
	c.Distance, c.Window = s.Distance, secs(s.WindowS)
	c.SizeMedian, c.SizeSigma, c.SizeMax = s.SizeMedian, s.SizeSigma, s.SizeMax
	c.Lifetime, c.MaxHeldBytes = secs(s.LifetimeS), s.MaxHeldBytes
	c.Latency, c.Bandwidth, c.ConnectDelay = secs(s.LatencyS), s.Bandwidth, secs(s.ConnectS)
	return c
}

// report.json holds what it takes to run its study again, the generator's
// and the churn model's knobs included (a ws graph's rewire and a weibull
// model's shapes and scales), and how many nodes are online on average
// counting the always-on ones.
func TestReportRunsAgain(t *testing.T) {
	t.Parallel()
	for _, graph := range []string{"ws", "hk"} {
		c := smallConfig()
		c.Graph, c.Nodes, c.Degree, c.Rewire, c.Triad = graph, 120, 8, 0.3, 0.6
		c.Churn, c.OnShape, c.OnScale, c.OffShape, c.OffScale = "weibull", 0.9, 3*time.Hour, 0.7, 5*time.Hour
		c.AlwaysOn, c.Messages, c.Days, c.TTLs, c.Seeds = 0.25, 15, 0.5, []int{2}, 2
		c.Strategies = []string{StrategyFlood, StrategyRelay}
		first := runStudy(t, c)
		b, err := json.Marshal(first)
		if err != nil {
			t.Fatal(err)
		}
		var read Report
		if err := json.Unmarshal(b, &read); err != nil {
			t.Fatal(err)
		}
		again := runStudy(t, configFromReport(t, &read))
		a, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the study rebuilt from its report differs:\n%s\n%s", graph, b, a)
		}
		ch := read.Churn
		if want := 0.25 + 0.75*ch.Availability; math.Abs(ch.OnlineFraction-want) > 1e-3 {
			t.Errorf("%s: online_fraction %v, want %v", graph, ch.OnlineFraction, want)
		}
	}
}

// A generated graph whose mean degree is far from the one asked for (ba
// and hk on few nodes) says so; one near it does not.
func TestWriteTableDegreeAsked(t *testing.T) {
	for _, c := range []struct {
		asked float64
		want  string
	}{
		{9, "mean degree 19.96 (asked for 9), max"},
		{20, "mean degree 19.96, max"},
	} {
		r := synthReport(2, 1)
		r.Graph.Degree = &c.asked
		var b strings.Builder
		if err := WriteTable(&b, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("asked %v: table lacks %q:\n%s", c.asked, c.want, b.String())
		}
	}
}
