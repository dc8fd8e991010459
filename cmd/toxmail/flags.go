package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/toxmail/toxmail/config"
)

// Environment variables the CLI reads.
const (
	envConfig     = "TOXMAIL_CONFIG"     // the default config file
	envPassphrase = "TOXMAIL_PASSPHRASE" // the Tox profile's passphrase
)

// flagSet is one command's flags and its help text.
type flagSet struct {
	*flag.FlagSet
	cmd      string // "init", "contacts add"
	synopsis string // "toxmail init --dir DIR [--name NAME]"
	about    string // what the command does, a paragraph or a few
	stdout   io.Writer
}

func (c *cli) flags(cmd, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet("toxmail "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by parse
	return &flagSet{FlagSet: fs, cmd: cmd, synopsis: synopsis, about: about, stdout: c.stdout}
}

// parse parses args, where flags may come before, between or after the
// positional arguments ("contacts add bob ID --config FILE"); "--" ends
// the flags. It returns the positional arguments. --help prints the usage
// on stdout and returns errHelp; a bad flag is a usage error.
func (f *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.usage(f.stdout)
			return nil, errHelp
		}
		if err != nil {
			return nil, usagef("%s; see `toxmail %s --help`", f.flagError(err), f.cmd)
		}
		rest := f.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), f.noEmptyValues()
		}
		if len(rest) == 0 {
			return pos, f.noEmptyValues()
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// singleDash matches a flag name as package flag writes it, "-nodes".
var singleDash = regexp.MustCompile(`(^|[ :])-([A-Za-z])`)

// flagError words package flag's parse errors the way the help writes
// flags ("--nodes", not "-nodes") and says what the flag wants.
func (f *flagSet) flagError(err error) string {
	msg := singleDash.ReplaceAllString(err.Error(), "$1--$2")
	want := "not a number"
	if m := flagInError.FindStringSubmatch(msg); m != nil {
		if fl := f.Lookup(m[1]); fl != nil {
			if g, ok := fl.Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case bool:
					want = "want true or false"
				case int, int64:
					want = "not a whole number"
				case uint, uint64:
					want = "not a whole number of zero or more"
				}
			}
		}
	}
	msg = strings.Replace(msg, ": parse error", ": "+want, 1)
	return strings.Replace(msg, ": value out of range", ": out of range", 1)
}

// flagInError finds the flag a parse error is about: `invalid value "x"
// for flag --nodes` or `invalid boolean value "x" for --json`.
var flagInError = regexp.MustCompile(`for (?:flag )?--([A-Za-z][\w-]*)`)

// noEmptyValues refuses a text flag given as "" (--config "", as an
// unset variable gives): left out, the flag takes its default, and
// taking the default silently for an empty value would hide the mistake.
func (f *flagSet) noEmptyValues() error {
	var err error
	f.Visit(func(fl *flag.Flag) {
		g, ok := fl.Value.(flag.Getter)
		if !ok || err != nil {
			return
		}
		if s, isText := g.Get().(string); isText && strings.TrimSpace(s) == "" {
			what, _ := flag.UnquoteUsage(fl)
			if what == "" {
				what = "a value"
			}
			err = usagef("--%s is empty; give %s, or leave --%s out", fl.Name, what, fl.Name)
		}
	})
	return err
}

// positional checks the number of positional arguments: want names them.
func (f *flagSet) positional(pos []string, want ...string) error {
	if len(pos) == len(want) {
		return nil
	}
	if len(pos) < len(want) {
		return usagef("missing %s; usage: %s", strings.Join(want[len(pos):], " and "), f.synopsis)
	}
	return usagef("unexpected argument %q; usage: %s", pos[len(want)], f.synopsis)
}

// usage prints the synopsis, the description and every flag.
func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n", f.synopsis)
	if f.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(f.about))
	}
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags:\n")
	f.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		head := "  --" + fl.Name
		if name != "" {
			head += " " + name
		}
		fmt.Fprintf(w, "%s\n", head)
		if def := defaultText(fl); def != "" {
			usage += " (default " + def + ")"
		}
		for line := range strings.SplitSeq(usage, "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	})
}

// defaultText is a flag's default as the help shows it, "" for none.
func defaultText(fl *flag.Flag) string {
	switch fl.DefValue {
	case "", "false", "0":
		return ""
	}
	if _, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok {
		return ""
	}
	if strings.ContainsAny(fl.DefValue, " ,") {
		return fmt.Sprintf("%q", fl.DefValue)
	}
	return fl.DefValue
}

// configFlag adds --config; configPath resolves it.
func (f *flagSet) configFlag() *string {
	return f.String("config", "", "the config `FILE` (default $"+envConfig+", else ./"+config.FileName+")")
}

// isSet reports whether the flag was given on the command line.
func (f *flagSet) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// configPath returns the config file to use: --config, else
// $TOXMAIL_CONFIG, else ./toxmail.toml; explicit reports whether the user
// named it (flag or environment).
func (c *cli) configPath(flagValue string) (path string, explicit bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if p := c.getenv(envConfig); p != "" {
		return p, true
	}
	return config.FileName, false
}

// loadConfig loads the config named by --config (or its default).
func (c *cli) loadConfig(flagValue string) (*config.Config, error) {
	path, explicit := c.configPath(flagValue)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if explicit {
			return nil, failf("config file %s does not exist; check the path, or create one with `toxmail init --dir DIR`", path)
		}
		return nil, failf("no config file: ./%s does not exist; pass --config FILE (or set %s), or create one with `toxmail init --dir DIR`",
			config.FileName, envConfig)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, fail(err, configHint(err, explicit))
	}
	return cfg, nil
}

// configHint says what to do about an error loading a config: fix the
// TOML of a malformed file, and, where the user named no config, that the
// file is the one in the current directory.
func configHint(err error, explicit bool) string {
	var hints []string
	var ce *config.Error
	if errors.As(err, &ce) && strings.HasPrefix(ce.Msg, "invalid TOML") {
		hints = append(hints, "fix that line (the file is TOML: key = value lines under [section] headers)")
	}
	if !explicit {
		hints = append(hints, "./"+config.FileName+" was read because no --config was given")
	}
	return strings.Join(hints, "; ")
}

// loadSettings loads the config for a command that uses only settings
// that are not secret (cmd is "sim" or "lookup"): a file others may read
// is not refused, since refusing would protect nothing, but a warning on
// stderr says how to fix it. For "sim" the values are not checked (see
// config.LoadSim): the simulator checks its own once its flags apply.
func (c *cli) loadSettings(cmd, flagValue string) (*config.Config, error) {
	path, explicit := c.configPath(flagValue)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return c.loadConfig(flagValue) // its wording of a missing file
	}
	load := config.LoadSettings
	if cmd == "sim" {
		load = config.LoadSim
	}
	cfg, err := load(path)
	if err != nil {
		return nil, fail(err, configHint(err, explicit))
	}
	// A file that holds no secret (a [sim]-only study) is nobody's
	// business to read.
	if err := config.CheckMode(path); errors.Is(err, config.ErrInsecureFile) && cfg.HasSecrets() {
		fmt.Fprintf(c.stderr, "toxmail %s: warning: %s\n", cmd, clean(err))
	}
	return cfg, nil
}

// parseConfig parses the arguments of a command that takes no positional
// arguments, then loads the config that --config (cfgFlag) names.
func (c *cli) parseConfig(f *flagSet, args []string, cfgFlag *string) (*config.Config, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	if err := f.positional(pos); err != nil {
		return nil, err
	}
	return c.loadConfig(*cfgFlag)
}

// passphrase is the Tox profile's passphrase from the environment; nil
// when unset (the profile is not encrypted).
func (c *cli) passphrase() []byte {
	if p := c.getenv(envPassphrase); p != "" {
		return []byte(p)
	}
	return nil
}

// durationValue is a flag.Value for durations that also takes days
// ("7d", "1d12h"), like the config file.
// sizeValue is a flag of bytes, written as the config writes sizes
// ("4KiB", "1.5MB", "4096").
type sizeValue struct{ n *int }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return strconv.Itoa(*v.n)
}

func (v sizeValue) Set(s string) error {
	n, err := config.ParseSize(s)
	if err != nil {
		return errors.New("want bytes, like 4096 or 4KiB")
	}
	if n > math.MaxInt32 {
		return errors.New("out of range")
	}
	*v.n = int(n)
	return nil
}

type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return formatDuration(*v.d)
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseDuration reads a duration flag as the config file takes one
// (config.ParseDuration: "90s", "2h", "7d", "1.5d", "1d12h"), and refuses
// a negative one.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := config.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 90s, 2h or 7d", s)
	}
	return d, nil
}

// formatDuration writes d as parseDuration reads it.
func formatDuration(d time.Duration) string { return config.FormatDuration(d) }
