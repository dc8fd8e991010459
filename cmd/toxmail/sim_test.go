package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/sim"
)

// tinySim is a study that runs in a moment.
var tinySim = []string{"sim", "--nodes", "60", "--graph", "ws", "--degree", "4", "--churn", "none",
	"--messages", "5", "--days", "0.1", "--ttl", "1-3", "--window", "1h"}

func TestSimJSON(t *testing.T) {
	t.Parallel()
	args := append(append([]string{}, tinySim...), "--json")
	var outs [2]result
	var errs [2]error
	done := make(chan int)
	for i := range outs {
		dir := t.TempDir()
		go func() {
			defer func() { done <- i }()
			outs[i], errs[i] = runRaw(invocation{args: args, dir: dir})
		}()
	}
	<-done
	<-done
	for i, r := range outs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		r.ok(t, "sim --json")
		if r.stderr != "" {
			t.Errorf("run %d: sim --json wrote to stderr (no progress bar off a terminal): %q", i, r.stderr)
		}
	}
	var rep sim.Report
	dec := json.NewDecoder(strings.NewReader(outs[0].stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("sim --json printed invalid JSON: %v\n%s", err, outs[0].stdout)
	}
	if dec.More() {
		t.Error("sim --json printed more than one JSON document")
	}
	if rep.Graph.Kind != "ws" || rep.Graph.Nodes != 60 || rep.Messages != 5 || rep.Churn.Model != "none" {
		t.Errorf("the report is not of the study asked for: graph %+v, churn %+v, %d messages", rep.Graph, rep.Churn, rep.Messages)
	}
	ttls := map[int]bool{}
	for _, run := range rep.Runs {
		if run.Strategy == sim.StrategyFlood {
			ttls[run.TTL] = true
		}
	}
	if len(ttls) != 3 || !ttls[1] || !ttls[3] {
		t.Errorf("flood ran at TTLs %v, want 1, 2 and 3", ttls)
	}
	if outs[0].stdout != outs[1].stdout {
		t.Error("two runs of the same study printed different JSON")
	}
}

func TestSimOut(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	args := append(append([]string{}, tinySim...), "--strategies", "direct,flood", "--out", dir)
	r := runInv(t, invocation{args: args}).ok(t, "sim --out")
	if !strings.Contains(r.stdout, "graph:") {
		t.Errorf("sim did not print the table:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "wrote ") || !strings.Contains(r.stdout, dir) {
		t.Errorf("sim --out does not name what it wrote:\n%s", r.stdout)
	}
	for _, name := range []string{"report.txt", "report.json", "runs.csv", "summary.csv", "latency_cdf.csv"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(r.stdout, name) {
			t.Errorf("sim --out does not name %s", name)
		}
	}
	for _, ext := range []string{"png", "svg"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
		if len(files) == 0 {
			t.Errorf("no %s plots in %s", ext, dir)
		}
	}
	// --json keeps stdout for the JSON and names the files on stderr.
	dir2 := filepath.Join(t.TempDir(), "out")
	r = runInv(t, invocation{args: append(append([]string{}, tinySim...), "--strategies", "flood", "--json", "--out", dir2)}).ok(t, "sim --json --out")
	if !json.Valid([]byte(r.stdout)) {
		t.Errorf("sim --json --out printed more than the JSON:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "wrote ") {
		t.Errorf("sim --json --out does not name what it wrote on stderr: %q", r.stderr)
	}
}

func TestSimErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--ttl", "0"}, []string{"out of range", "1..64", "--ttl"}},
		{[]string{"--ttl", "3-1"}, []string{"backwards"}},
		{[]string{"--days", "0"}, []string{"days = 0 is out of range", "--days"}},
		{[]string{"--always-on", "2"}, []string{"always_on = 2 is out of range", "--always-on"}},
		{[]string{"--size", "0"}, []string{"size_median", "--size"}},
		{[]string{"--strategies", "flood,teleport"}, []string{"teleport", "--strategies"}},
		{[]string{"--churn", "sometimes"}, []string{"sometimes"}},
		{[]string{"--window", "forever"}, []string{"--window"}},
		{[]string{"--window", "2d"}, []string{"window", "out of range"}},
		// The default window (0s) is the first day, or all of a shorter
		// run; 1d asked for is not cut.
		{[]string{"--window", "1d"}, []string{"window = 24h0m0s is out of range", "--window"}},
		{[]string{"--degree", "NaN"}, []string{"degree = NaN is out of range", "--degree"}},
		{[]string{"--graph", "er", "--nodes", "4", "--degree", "3.5"}, []string{"only 6 pairs", "--degree"}},
		{[]string{"--seed", "18446744073709551615"}, []string{"seed = 18446744073709551615 is out of range", "--seed"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{}, tinySim...), tt.args...)
			r := runInv(t, invocation{args: args})
			r.failed(t, exitUsage, "toxmail sim: ", tt.want...)
			if r.stdout != "" {
				t.Errorf("a refused sim printed %q", r.stdout)
			}
		})
	}
	t.Run("output is a file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "report")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{}, tinySim...), "--out", file)
		r := runInv(t, invocation{args: args})
		r.failed(t, exitFailure, "toxmail sim: ", "output directory "+file+" is there and is not a directory", "check that you can write to "+file)
		if r.stdout != "" {
			t.Errorf("the study ran before its output directory was checked: %q", r.stdout)
		}
	})
	t.Run("an output name taken by a directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "summary.csv"), 0o755); err != nil {
			t.Fatal(err)
		}
		r := runInv(t, invocation{args: append(append([]string{}, tinySim...), "--out", dir)})
		r.failed(t, exitFailure, "toxmail sim: ", "summary.csv is there and is not a regular file")
		if r.stdout != "" {
			t.Errorf("the study ran before its output directory was checked: %q", r.stdout)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%d entries in the output directory, want only the one that was there", len(entries))
		}
	})
	t.Run("more than the machine's memory", func(t *testing.T) {
		t.Parallel()
		if have := sim.MachineMemory(); have == 0 || have > 700<<30 {
			t.Skipf("memory here %d bytes: unknown, or more than the study asks (see TestMemoryWarning)", have)
		}
		// A million mails that each reach 2,000 nodes: hundreds of GB by
		// the estimate. The warning comes before the study runs; the
		// --out that is a file then stops it.
		file := filepath.Join(t.TempDir(), "report")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runInv(t, invocation{args: []string{"sim", "--nodes", "2000", "--graph", "er", "--degree", "10", "--messages", "1000000",
			"--ttl", "8", "--strategies", "flood", "--out", file}})
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code != exitFailure || len(lines) != 2 || r.stdout != "" ||
			!strings.HasPrefix(lines[0], "toxmail sim: warning: the largest run may need about ") || !strings.Contains(lines[0], "of memory here") ||
			!strings.Contains(lines[1], "is not a directory") {
			t.Errorf("want the memory warning, then the --out error: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
		}
		// A small study says nothing of memory.
		r = runInv(t, invocation{args: append(append([]string{}, tinySim...), "--out", file)})
		if strings.Contains(r.stderr, "of memory here") {
			t.Errorf("a small study warned of memory: %q", r.stderr)
		}
	})
	t.Run("empty --out", func(t *testing.T) {
		t.Parallel()
		r := runInv(t, invocation{args: append(append([]string{}, tinySim...), "--out", "")})
		r.failed(t, exitUsage, "toxmail sim: ", "--out is empty; give DIR, or leave --out out")
	})
	t.Run("generator flags with an edge list", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "path.txt")
		if err := os.WriteFile(path, []byte("1 2\n2 3\n3 4\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runInv(t, invocation{args: []string{"sim", "--graph", path, "--nodes", "50", "--degree", "4", "--churn", "none",
			"--messages", "2", "--days", "0.05", "--ttl", "1", "--strategies", "flood", "--json"}}).ok(t, "sim over an edge list")
		if want := "toxmail sim: warning: --nodes and --degree ignored: the edge list " + path; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	})
	t.Run("missing graph file", func(t *testing.T) {
		t.Parallel()
		r := runInv(t, invocation{args: []string{"sim", "--graph", filepath.Join(t.TempDir(), "nope.txt"), "--nodes", "50"}})
		r.failed(t, exitFailure, "toxmail sim: ", "nope.txt")
		if strings.Contains(r.stderr, "warning") {
			t.Errorf("a missing edge list first warned of the flags it would ignore: %q", r.stderr)
		}
	})
}

func TestSimConfig(t *testing.T) {
	t.Parallel()
	n := initNode(t)
	rewriteConfig(t, n.config, func(c *config.Config) {
		c.Sim.Nodes, c.Sim.Graph, c.Sim.Degree, c.Sim.Churn = 50, "er", 4, "none"
		c.Sim.Messages, c.Sim.Days, c.Sim.Window = 4, 0.1, time.Hour
		c.Sim.TTLs, c.Sim.Strategies = []int{2}, []string{sim.StrategyFlood}
	})
	report := func(r result) sim.Report {
		t.Helper()
		r.ok(t, "sim")
		var rep sim.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("sim printed %q: %v", r.stdout, err)
		}
		return rep
	}
	// From --config, from $TOXMAIL_CONFIG, and from ./toxmail.toml.
	rep := report(runInv(t, invocation{args: []string{"sim", "--json", "--config", n.config}}))
	if rep.Graph.Kind != "er" || rep.Graph.Nodes != 50 || rep.Messages != 4 || len(rep.Runs) != 1 || rep.Runs[0].TTL != 2 {
		t.Errorf("sim --config did not take the [sim] section: graph %+v, %d messages, %d runs", rep.Graph, rep.Messages, len(rep.Runs))
	}
	rep = report(runInv(t, invocation{args: []string{"sim", "--json"}, env: []string{envConfig + "=" + n.config}}))
	if rep.Graph.Nodes != 50 {
		t.Errorf("sim with %s: %d nodes, want 50", envConfig, rep.Graph.Nodes)
	}
	rep = report(runInv(t, invocation{args: []string{"sim", "--json"}, dir: n.dir}))
	if rep.Graph.Nodes != 50 {
		t.Errorf("sim next to ./toxmail.toml: %d nodes, want 50", rep.Graph.Nodes)
	}
	// Flags override only what they set.
	rep = report(runInv(t, invocation{args: []string{"sim", "--json", "--config", n.config, "--nodes", "40", "--ttl", "1,3"}}))
	if rep.Graph.Kind != "er" || rep.Graph.Nodes != 40 || rep.Messages != 4 || len(rep.Runs) != 2 {
		t.Errorf("flags over --config: graph %+v, %d messages, %d runs", rep.Graph, rep.Messages, len(rep.Runs))
	}

	// A file of only a [sim] section will do (the node's settings, such
	// as its dashboard token, are not the simulator's business), and a
	// flag replaces a [sim] value that is out of range.
	simOnly := filepath.Join(t.TempDir(), "sim.toml")
	text := "[sim]\ngraph = \"er\"\nnodes = 1\ndegree = 4\nchurn = \"none\"\nmessages = 3\ndays = 0.1\nttl = [2]\nstrategies = [\"flood\"]\n"
	if err := os.WriteFile(simOnly, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runInv(t, invocation{args: []string{"sim", "--json", "--config", simOnly}})
	r.failed(t, exitFailure, "toxmail sim: ", simOnly+":3: sim.nodes = 1: out of range", "--nodes")
	rep = report(runInv(t, invocation{args: []string{"sim", "--json", "--config", simOnly, "--nodes", "30"}}))
	if rep.Graph.Kind != "er" || rep.Graph.Nodes != 30 || rep.Messages != 3 {
		t.Errorf("a [sim]-only file with --nodes: graph %+v, %d messages", rep.Graph, rep.Messages)
	}
	// A TTL or strategy given twice runs once, the TTLs in order (not as
	// a second seed); an edge list named in the file is found beside it.
	graphDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(graphDir, "friends.txt"), []byte("# a path\n1 2\n2 3\n3 4\n4 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inDir := filepath.Join(graphDir, "sim.toml")
	text = "[sim]\ngraph = \"friends.txt\"\nchurn = \"none\"\nmessages = 3\ndays = 0.1\nttl = [3, 1, 3]\nstrategies = [\"flood\", \"flood\"]\n"
	if err := os.WriteFile(inDir, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	first := runInv(t, invocation{args: []string{"sim", "--json", "--config", inDir}})
	rep = report(first)
	if rep.Graph.Nodes != 5 || len(rep.Runs) != 2 || rep.Runs[0].TTL != 1 || rep.Runs[1].TTL != 3 || len(rep.Summaries) != 2 || rep.Summaries[0].Runs != 1 {
		t.Errorf("ttl [3, 1, 3], flood twice, an edge list beside the file: graph %+v, runs %+v", rep.Graph, rep.Runs)
	}
	// Run from elsewhere, through a relative path to the config: the
	// same file, named in full, so the same report.
	if want := filepath.Join(graphDir, "friends.txt"); rep.Graph.Kind != want {
		t.Errorf("the report names the edge list %q, want %q", rep.Graph.Kind, want)
	}
	elsewhere := filepath.Join(filepath.Dir(graphDir), "elsewhere")
	if err := os.Mkdir(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	relConfig := filepath.Join("..", filepath.Base(graphDir), "sim.toml")
	if again := runInv(t, invocation{args: []string{"sim", "--json", "--config", relConfig}, dir: elsewhere}); again.stdout != first.stdout {
		t.Errorf("the same config from another directory: exit %d, stderr %q, and a report that differs", again.code, again.stderr)
	}
	// A TTL string out of range is shown at its line, and --ttl may
	// replace it, as any value out of range.
	wide := filepath.Join(graphDir, "wide.toml")
	if err := os.WriteFile(wide, []byte("[sim]\ngraph = \"friends.txt\"\nchurn = \"none\"\nmessages = 3\ndays = 0.1\nttl = \"1-100\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runInv(t, invocation{args: []string{"sim", "--json", "--config", wide}})
	r.failed(t, exitFailure, "toxmail sim: ", wide+":6: sim.ttl = \"1-100\": 100 is out of range", "--ttl")
	if rep = report(runInv(t, invocation{args: []string{"sim", "--json", "--config", wide, "--ttl", "2", "--strategies", "flood"}})); len(rep.Runs) != 1 || rep.Runs[0].TTL != 2 {
		t.Errorf("--ttl over a file's TTLs out of range: runs %+v", rep.Runs)
	}
	// A stray comma in a strategy list is refused, as in --ttl.
	r = runInv(t, invocation{args: []string{"sim", "--json", "--config", inDir, "--strategies", "flood,,relay"}})
	r.failed(t, exitUsage, "toxmail sim: ", `strategies is missing one: an empty item ("", or a stray comma)`, "--strategies")

	// Still a config file: a misspelt key is refused.
	if err := os.WriteFile(simOnly, []byte("[sim]\nnodez = 30\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runInv(t, invocation{args: []string{"sim", "--json", "--config", simOnly}}); r.code != exitFailure || !strings.Contains(r.stderr, "unknown key sim.nodez") {
		t.Errorf("a misspelt [sim] key: exit %d, %q", r.code, r.stderr)
	}
}

// An --out directory made for a study that wrote nothing goes again, with
// the parents made for it, and nothing that was there before.
func TestPrepareOutDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "c")
	top, err := prepareOutDir(dir)
	if err != nil || top != filepath.Join(base, "a") {
		t.Fatalf("prepareOutDir: top %q, %v; want %q", top, err, filepath.Join(base, "a"))
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("the directory: %v, %v; want it made and empty (the probe removed)", entries, err)
	}
	removeEmptyUpTo(dir, top)
	if _, err := os.Stat(filepath.Join(base, "a")); !os.IsNotExist(err) {
		t.Errorf("the parents made for it are still there: %v", err)
	}
	if _, err := os.Stat(base); err != nil {
		t.Errorf("the directory that was there before went: %v", err)
	}

	// Made, then written into: kept.
	top, err = prepareOutDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	removeEmptyUpTo(dir, top)
	if _, err := os.Stat(filepath.Join(dir, "report.txt")); err != nil {
		t.Errorf("a directory with a report in it was removed: %v", err)
	}
	// There already: nothing to undo.
	if top, err := prepareOutDir(dir); top != "" || err != nil {
		t.Errorf("an existing directory: top %q, %v; want \"\", nil", top, err)
	}
}

func TestMemoryWarning(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		need      float64
		have      int64
		generated bool
		want      string
	}{
		{8 * gib, 16 * gib, true, ""},
		{8 * gib, 0, true, ""}, // unknown
		{20 * gib, 16 * gib, true, "the largest run may need about 20.0 GiB, more than the 16.0 GiB of memory here; it may be killed or swap (fewer --nodes or --messages, or a lower --ttl, need less)"},
		{20 * gib, 16 * gib, false, "(fewer --messages or a lower --ttl need less)"},
	}
	for _, tt := range tests {
		got := memoryWarning(tt.need, tt.have, tt.generated)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("memoryWarning(%v, %v, %v) = %q, want %q", tt.need, tt.have, tt.generated, got, tt.want)
		}
	}
}
