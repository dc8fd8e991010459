package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/internal/bytesize"
	"github.com/toxmail/toxmail/sim"
)

func runSim(c *cli, args []string) error {
	def := sim.DefaultConfig()
	f := c.flags("sim", "toxmail sim [--config FILE] [flags] [--json] [--out DIR]", `
Simulates the toxmail mesh — the real mesh code over an in-memory network
with a virtual clock — on a social graph with on/off churn, and compares
strategies: direct (no relays), relay (one always-on server), flood (the
mesh) and flood-noack (the mesh without acks) at each TTL. It reports the
delivery ratio, latency, frames and bytes per delivered mail and storage.

The study starts from the [sim] section of the config (--config, else
$TOXMAIL_CONFIG, else ./toxmail.toml when it exists), else from the
defaults shown below; the flags given override it. Ctrl-C stops it.`)
	cfgFlag := f.String("config", "", "start from the [sim] section of this config `FILE`")
	nodes := f.Int("nodes", def.Nodes, "`N` nodes in a generated graph")
	graph := f.String("graph", def.Graph, "the social `GRAPH`: er (Erdős–Rényi), ws (Watts–Strogatz), ba (Barabási–Albert),\nhk (Holme–Kim), or the path of a SNAP edge list")
	degree := f.Float64("degree", def.Degree, "mean `DEGREE` of a generated graph (ws, ba and hk round it to an even number)")
	churn := f.String("churn", def.Churn, "on/off churn `MODEL`: none, exp, weibull or kad (sessions measured in the KAD DHT)")
	ttl := f.String("ttl", sim.FormatTTLs(def.TTLs), "hop limits for flood and flood-noack, each 1.."+strconv.Itoa(sim.MaxTTL)+": a `LIST` (1,2,4), a range (1-6) or both (1-3,6)")
	messages := f.Int("messages", def.Messages, "`M` mails per run")
	days := f.Float64("days", def.Days, "simulated `DAYS` per run")
	window := def.Window
	f.Var(durationValue{&window}, "window", "mails are created uniformly over the first `DURATION` of a run (90m, 2h, 1d; 0s: the first day, or all of a shorter run)")
	distance := f.Int("distance", def.Distance, "`D` = 0: random sender and recipient; D > 0: the recipient is exactly D friend links away")
	alwaysOn := f.Float64("always-on", def.AlwaysOn, "`FRACTION` of nodes that never go offline, 0..1")
	size := def.SizeMedian
	f.Var(sizeValue{&size}, "size", "median mail body size in `BYTES` (log-normal): 4096 or 4KiB")
	seeds := f.Int("seeds", def.Seeds, "`S` runs of each strategy and TTL, with seeds SEED, SEED+1, ...")
	strategies := f.String("strategies", strings.Join(def.Strategies, ","), "the strategies to compare, a comma-separated `LIST` of "+strings.Join(sim.Strategies, ", "))
	seed := f.Uint64("seed", def.Seed, "the first `SEED`")
	graphSeed := f.Int64("graph-seed", def.GraphSeed, "the `SEED` that draws the graph every run shares (-1: the first seed);\nrun k of a study alone is --seed SEED+k --graph-seed SEED")
	jobs := f.Int("jobs", def.Jobs, "simulate `J` runs at once, each on its own core (0: one per CPU, fewer if memory is short); the report is the same")
	out := f.String("out", "", "also write report.txt, report.json, CSV files and PNG and SVG plots into `DIR`")
	asJSON := f.Bool("json", false, "print the report as JSON on stdout, and nothing else there")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos); err != nil {
		return err
	}

	cfg, cfgPath := def, ""
	if path, explicit := c.configPath(*cfgFlag); explicit || fileExists(path) {
		full, err := c.loadSettings("sim", *cfgFlag)
		if err != nil {
			return err
		}
		// An edge list the file names comes found beside the file, by its
		// full path (config.Load), so the report is the same from any
		// directory; one --graph names is found from here.
		cfg, cfgPath = full.Sim, path
	}
	var flagErr error
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) {
		given[fl.Name] = true
		switch fl.Name {
		case "nodes":
			cfg.Nodes = *nodes
		case "graph":
			cfg.Graph = *graph
		case "degree":
			cfg.Degree = *degree
		case "churn":
			cfg.Churn = *churn
		case "ttl":
			ttls, err := sim.ParseTTLs(*ttl)
			if err != nil {
				flagErr = usagef("--ttl: %s; give hop limits like 1,2,4 or 1-6", clean(err))
			}
			cfg.TTLs = ttls
		case "messages":
			cfg.Messages = *messages
		case "days":
			cfg.Days = *days
		case "window":
			cfg.Window = window
		case "distance":
			cfg.Distance = *distance
		case "always-on":
			cfg.AlwaysOn = *alwaysOn
		case "size":
			cfg.SizeMedian = size
		case "seeds":
			cfg.Seeds = *seeds
		case "strategies":
			cfg.Strategies = splitList(*strategies)
		case "seed":
			cfg.Seed = *seed
		case "graph-seed":
			cfg.GraphSeed = *graphSeed
		case "jobs":
			cfg.Jobs = *jobs
		}
	})
	if flagErr != nil {
		return flagErr
	}
	if err := cfg.Validate(); err != nil {
		return simInvalid(f, err, given, cfgPath)
	}
	study, err := sim.NewStudy(cfg)
	if err != nil {
		// Validate has passed: what is left is mostly the edge-list file.
		if sim.IsGenerated(cfg.Graph) {
			return fail(err, "check --graph")
		}
		return fail(err, "check the edge list "+cfg.Graph)
	}
	if msg := memoryWarning(study.LargestRunMemory(), sim.MachineMemory(), sim.IsGenerated(cfg.Graph)); msg != "" {
		fmt.Fprintln(c.stderr, "toxmail sim: warning: "+msg)
	}
	if !sim.IsGenerated(cfg.Graph) {
		var ignored []string
		for _, name := range []string{"nodes", "degree"} {
			if given[name] {
				ignored = append(ignored, "--"+name)
			}
		}
		if len(ignored) > 0 {
			fmt.Fprintf(c.stderr, "toxmail sim: warning: %s ignored: the edge list %s has its own nodes and edges\n",
				strings.Join(ignored, " and "), cfg.Graph)
		}
	}
	// A directory that cannot be written is found before the study runs,
	// not hours later; one made here and left empty is removed again.
	if *out != "" {
		top, err := prepareOutDir(*out)
		if err != nil {
			return fail(err, "check that you can write to "+*out)
		}
		defer removeEmptyUpTo(*out, top) // nothing, once files are in it
	}

	// Runs going at once keep, together, to the memory budget they are
	// scheduled by, unless the user set a limit of their own.
	if lim := study.MemoryLimit(); lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lim)
	}
	bar := c.progressBar(study.Runs() * int(math.Ceil(cfg.Duration().Hours())))
	rep, err := study.Run(c.ctx, func(p sim.Progress) {
		if bar == nil {
			return
		}
		if p.Finished != nil {
			// Of a fixed width, so that the bar beside it keeps its own.
			bar.Describe(fmt.Sprintf("%*d/%d runs", len(strconv.Itoa(p.TotalRuns)), p.Runs, p.TotalRuns))
		}
		bar.Set64(p.Hours)
	})
	if bar != nil {
		bar.Exit()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return failf("interrupted; nothing was written")
		}
		return fail(err, "")
	}

	if *asJSON {
		if err := sim.WriteJSON(c.stdout, rep); err != nil {
			return fail(err, "")
		}
	} else if err := sim.WriteTable(c.stdout, rep); err != nil {
		return fail(err, "")
	}
	if *out != "" {
		before := listDir(*out)
		start := time.Now().Truncate(time.Second)
		if err := sim.WriteOutputs(*out, rep); err != nil {
			return fail(err, "check that you can write to "+*out)
		}
		written := writtenSince(*out, before, start)
		w := c.stdout
		if *asJSON {
			w = c.stderr
		}
		fmt.Fprintf(w, "wrote %d files to %s: %s\n", len(written), *out, strings.Join(written, ", "))
	}
	return nil
}

// progressBar returns a bar on stderr when stderr is a terminal, nil
// otherwise (CI logs get nothing).
func (c *cli) progressBar(total int) *progressbar.ProgressBar {
	if c.stderrFile == nil || !term.IsTerminal(int(c.stderrFile.Fd())) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription("simulating"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionFullWidth(),
	}
	// On a narrow terminal the times and the full-width bar would wrap
	// onto a new line at every update: a short bar alone fits.
	if cols, _, err := term.GetSize(int(c.stderrFile.Fd())); err == nil && cols < 72 {
		opts = []progressbar.Option{
			progressbar.OptionSetWriter(c.stderr),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionSetWidth(max(5, cols-35)),
		}
	}
	bar := progressbar.NewOptions(total, opts...)
	bar.RenderBlank()
	return bar
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		out = append(out, strings.TrimSpace(item)) // "" is refused by Validate, as --ttl refuses it
	}
	return out
}

// simFlags maps the [sim] keys whose flags are spelt otherwise to them.
var simFlags = map[string]string{"size_median": "size", "always_on": "always-on", "graph_seed": "graph-seed"}

// simFlag returns the flag that sets knob, "" if none does.
func simFlag(f *flagSet, knob string) string {
	name := simFlags[knob]
	if name == "" {
		name = knob
	}
	if f.Lookup(name) == nil {
		return ""
	}
	return name
}

// simInvalid explains a sim.Config.Validate error. A value the config
// file set is a problem of the file, shown at its line in the config
// check's words ("toxmail.toml:4: sim.seeds = 0: out of range: want
// 1..1000"); a value a flag set, or a default, is a usage error that
// names the flag.
func simInvalid(f *flagSet, err error, given map[string]bool, cfgPath string) error {
	var ke *sim.KnobError
	if !errors.As(err, &ke) {
		return &cliError{code: exitUsage, msg: clean(err) + "; see `toxmail sim --help`"}
	}
	k := ke.Knob
	flagName := simFlag(f, k)
	if cfgPath != "" && !given[flagName] {
		if e := config.SimKnobError(cfgPath, ke); e.Line > 0 {
			hint := "change " + k + " in the [sim] section of " + cfgPath
			if flagName != "" {
				hint += ", or give --" + flagName
			}
			return fail(e, hint)
		}
	}
	msg := clean(err) + "; "
	switch {
	case flagName != "":
		msg += "change --" + flagName + " (or " + k + " in the [sim] section of the config)"
	default:
		msg += "change " + k + " in the [sim] section of the config"
	}
	return &cliError{code: exitUsage, msg: msg}
}

// memoryWarning says what to do when a study's largest run may need more
// than the machine's memory, have bytes (0: unknown); "" otherwise.
func memoryWarning(need float64, have int64, generated bool) string {
	if have <= 0 || need <= float64(have) {
		return ""
	}
	less := "fewer --messages or a lower --ttl need less"
	if generated {
		less = "fewer --nodes or --messages, or a lower --ttl, need less"
	}
	return fmt.Sprintf("the largest run may need about %s, more than the %s of memory here; it may be killed or swap (%s)",
		bytesize.Format(int64(need)), bytesize.Format(have), less)
}

// prepareOutDir creates dir and its missing parents, and proves that
// files can be written into it. top is the outermost directory it made
// ("" if dir existed), for removeEmptyUpTo.
func prepareOutDir(dir string) (top string, err error) {
	if err := sim.CheckOutputDir(dir); err != nil {
		return "", err
	}
	top, err = mkdirAll(dir, 0o755)
	if err != nil {
		return "", fmt.Errorf("output directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".toxmail-sim-*")
	if err != nil {
		removeEmptyUpTo(dir, top)
		return "", fmt.Errorf("output directory: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return top, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// fileStamp is what tells a file rewritten.
type fileStamp struct {
	mod  time.Time
	size int64
}

// listDir returns the regular files of dir; empty if it does not exist.
func listDir(dir string) map[string]fileStamp {
	m := make(map[string]fileStamp)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			m[e.Name()] = fileStamp{fi.ModTime(), fi.Size()}
		}
	}
	return m
}

// writtenSince returns the files of dir that are new or changed since
// before, or modified since start, sorted.
func writtenSince(dir string, before map[string]fileStamp, start time.Time) []string {
	var out []string
	for name, st := range listDir(dir) {
		old, had := before[name]
		if !had || old != st || !st.mod.Before(start) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
