package config

// How values are read from the file and written to it: durations with
// days, sizes with units, TOML strings, enumerations.

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/toxmail/toxmail/sim"
	"github.com/toxmail/toxmail/tox"
)

// decode stores raw, a value as go-toml decoded it into an any, where p
// points. rng, the allowed values, goes into the error.
func decode(p, raw any, size bool, rng string) error {
	want := func(what string) error { return fmt.Errorf("want %s (allowed: %s)", what, rng) }
	str, isStr := raw.(string)
	switch p := p.(type) {
	case *bool:
		b, ok := raw.(bool)
		if !ok {
			return errors.New("want true or false")
		}
		*p = b
	case *string:
		if !isStr {
			return want("a string")
		}
		*p = str
	case *time.Duration:
		if !isStr {
			return want(`a duration such as "90s", "10m", "2h" or "7d"`)
		}
		d, err := ParseDuration(str)
		if err != nil {
			return want(`a duration such as "90s", "10m", "2h" or "7d"`)
		}
		*p = d
	case *uint8:
		return decodeInt(p, raw, size, rng)
	case *uint16:
		return decodeInt(p, raw, size, rng)
	case *int:
		return decodeInt(p, raw, size, rng)
	case *int64:
		return decodeInt(p, raw, size, rng)
	case *uint64:
		return decodeInt(p, raw, size, rng)
	case *float64:
		switch x := raw.(type) {
		case float64:
			*p = x
		case int64:
			*p = float64(x)
		case string:
			n, err := parseSize(x)
			if !size || err != nil {
				return want("a number")
			}
			*p = float64(n)
		default:
			return want("a number")
		}
	case *[]int:
		if isStr {
			// As the flag takes it: "1-6", "1,2,4". Only sim.ttl is a
			// list of integers. Its range is checked with the other
			// knobs', after the flags (sim.Config.Validate).
			ttls, err := sim.ParseTTLSyntax(str)
			if err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), "sim: ") + `: want hop limits such as [1, 2, 4] or "1-6"`)
			}
			*p = ttls
			return nil
		}
		list, ok := raw.([]any)
		if !ok {
			return want(`an array of integers, such as [1, 2, 3], or a range such as "1-6"`)
		}
		out := make([]int, len(list))
		for i, x := range list {
			n, ok := x.(int64)
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				return want("an array of integers, such as [1, 2, 3]")
			}
			out[i] = int(n)
		}
		*p = out
	case *[]string:
		if isStr {
			// As the flag takes it: "flood,relay". An empty item (a stray
			// comma) stays, for the knob's check to refuse.
			var out []string
			if strings.TrimSpace(str) != "" {
				for part := range strings.SplitSeq(str, ",") {
					out = append(out, strings.TrimSpace(part))
				}
			}
			*p = out
			return nil
		}
		list, ok := raw.([]any)
		if !ok {
			return want(`an array of strings, such as ["a", "b"], or a comma-separated string`)
		}
		out := make([]string, len(list))
		for i, x := range list {
			if out[i], ok = x.(string); !ok {
				return want(`an array of strings, such as ["a", "b"]`)
			}
		}
		*p = out
	case *tox.ProxyType:
		for _, t := range []tox.ProxyType{tox.ProxyNone, tox.ProxyHTTP, tox.ProxySOCKS5} {
			if isStr && str == t.String() {
				*p = t
				return nil
			}
		}
		return errors.New("want " + rng)
	case *tox.RequestPolicy:
		if !isStr {
			return errors.New("want " + rng)
		}
		r, err := tox.ParseRequestPolicy(str)
		if err != nil {
			return errors.New("want " + rng)
		}
		*p = r
	case *slog.Level:
		if l, ok := ParseLevel(str); isStr && ok {
			*p = l
			return nil
		}
		return errors.New("want " + rng)
	case *tox.PublicKey:
		if !isStr {
			return want("a string")
		}
		k, err := tox.ParsePublicKey(str)
		if err != nil {
			return errors.New("want " + rng)
		}
		*p = k
	default:
		panic(fmt.Sprintf("config: no decoder for %T", p))
	}
	return nil
}

type integer interface {
	~uint8 | ~uint16 | ~int | ~int64 | ~uint64
}

func decodeInt[T integer](p *T, raw any, size bool, rng string) error {
	what := "an integer"
	if size {
		what = `a size in bytes, such as 1048576 or "1MiB"`
	}
	var n int64
	switch x := raw.(type) {
	case int64:
		n = x
	case string:
		var err error
		if n, err = parseSize(x); !size || err != nil {
			return fmt.Errorf("want %s (allowed: %s)", what, rng)
		}
	default:
		return fmt.Errorf("want %s (allowed: %s)", what, rng)
	}
	t := T(n)
	if int64(t) != n || (t >= 0) != (n >= 0) {
		return errors.New("out of range: want " + rng)
	}
	*p = t
	return nil
}

// ParseDuration reads a duration as the config file takes one: a Go
// duration ("1h30m", "90s", "-1h") that may start with a number of days
// ("7d", "1.5d", "1d12h"). A sign goes only in front ("1d-1h" is refused).
func ParseDuration(s string) (time.Duration, error) {
	sign := time.Duration(1)
	rest := s
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		sign, rest = -1, r
	} else if r, ok := strings.CutPrefix(rest, "+"); ok {
		rest = r
	}
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		num := rest[:i]
		if num == "" || strings.Trim(num, "0123456789.") != "" {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		h, err := time.ParseDuration(num + "h")
		if err != nil || h > math.MaxInt64/24 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		total, rest = 24*h, rest[i+1:]
		if rest == "" {
			return sign * total, nil
		}
	}
	if rest == "" || rest[0] == '-' || rest[0] == '+' {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d > math.MaxInt64-total {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return sign * (total + d), nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1000, "m": 1000 * 1000, "mb": 1000 * 1000,
	"g": 1000 * 1000 * 1000, "gb": 1000 * 1000 * 1000, "t": 1000 * 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20,
	"gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

// ParseSize reads a size as the config file takes one: "8MiB", "1.5 GB",
// "64kib" or "4096", a whole number of bytes.
func ParseSize(s string) (int64, error) { return parseSize(s) }

// parseSize reads "8MiB", "1.5 GB", "64kib", "4096" as a whole number of
// bytes.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mul, ok := sizeUnits[unit]
	r, ok2 := new(big.Rat).SetString(num)
	if num == "" || !ok || !ok2 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mul))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return r.Num().Int64(), nil
}

// format writes the value p points to as a TOML value.
func format(p any, size bool) string {
	switch p := p.(type) {
	case *bool:
		return strconv.FormatBool(*p)
	case *string:
		return quote(*p)
	case *time.Duration:
		return quote(FormatDuration(*p))
	case *uint8:
		return formatInt(int64(*p), size)
	case *uint16:
		return formatInt(int64(*p), size)
	case *int:
		return formatInt(int64(*p), size)
	case *int64:
		return formatInt(*p, size)
	case *uint64:
		if *p > math.MaxInt64 {
			return strconv.FormatUint(*p, 10) // out of range; Validate says so
		}
		return formatInt(int64(*p), size)
	case *float64:
		if size && *p >= 0 && *p < 1<<53 && *p == math.Trunc(*p) {
			return formatInt(int64(*p), true)
		}
		return formatFloat(*p)
	case *[]int:
		parts := make([]string, len(*p))
		for i, v := range *p {
			parts[i] = strconv.Itoa(v)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *[]string:
		return "[" + quoteList(*p) + "]"
	case *tox.ProxyType:
		return quote(p.String())
	case *tox.RequestPolicy:
		if *p > tox.Manual {
			return strconv.Itoa(int(*p))
		}
		return quote(p.String())
	case *slog.Level:
		return quote(levelName(*p))
	case *tox.PublicKey:
		return quote(p.String())
	}
	panic(fmt.Sprintf("config: no format for %T", p))
}

func formatInt(n int64, size bool) string {
	if size {
		return formatSize(n)
	}
	return strconv.FormatInt(n, 10)
}

// formatSize writes whole KiB, MiB, GiB and TiB as strings ("8MiB"), other
// sizes as integers.
func formatSize(n int64) string {
	if n > 0 {
		for _, u := range []struct {
			name  string
			bytes int64
		}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if n%u.bytes == 0 {
				return quote(strconv.FormatInt(n/u.bytes, 10) + u.name)
			}
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatFloat writes a TOML float that parses back to f exactly.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// FormatDuration writes d as ParseDuration reads it: whole days as "7d",
// the rest as Go does without trailing zero units ("2m", "1h30m", "50ms").
func FormatDuration(d time.Duration) string {
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

const day = 24 * time.Hour

// quote writes a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}

type namedLevel struct {
	name  string
	level slog.Level
}

var levelNames = []namedLevel{{"debug", slog.LevelDebug}, {"info", slog.LevelInfo}, {"warn", slog.LevelWarn}, {"error", slog.LevelError}}

// ParseLevel reads a log level name: "debug", "info", "warn" (or
// "warning"), "error".
func ParseLevel(s string) (slog.Level, bool) {
	if s == "warning" {
		s = "warn"
	}
	for _, n := range levelNames {
		if s == n.name {
			return n.level, true
		}
	}
	return 0, false
}

func levelName(l slog.Level) string {
	for _, n := range levelNames {
		if n.level == l {
			return n.name
		}
	}
	return strings.ToLower(l.String())
}
