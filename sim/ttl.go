package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/toxmail/toxmail/mesh"
)

// ParseTTLs parses a flag value: a comma-separated list "1,2,4" or a range
// "1-8" (inclusive), or a mix "1-3,6"; each in 1..MaxTTL; result sorted,
// duplicates removed; clear error otherwise naming the bad part. Spaces
// around items and around the dash are allowed.
func ParseTTLs(s string) ([]int, error) { return parseTTLs(s, MaxTTL) }

// ParseTTLSyntax parses s as ParseTTLs does, but lets hop limits above
// MaxTTL through (up to 10,000) for Config.Validate to refuse: a config
// file's value out of range is then reported at its line, after the flags
// that may replace it, like any other knob's.
func ParseTTLSyntax(s string) ([]int, error) { return parseTTLs(s, maxTTLSyntax) }

// maxTTLSyntax bounds what ParseTTLSyntax expands, so that "1-1000000000"
// is an error rather than a billion TTLs.
const maxTTLSyntax = 10_000

func parseTTLs(s string, limit int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("sim: ttl list is empty")
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		item := strings.TrimSpace(part)
		bad := func(why string) error {
			return fmt.Errorf("sim: ttl %q in %q: %s", item, s, why)
		}
		if item == "" {
			return nil, bad("empty item (stray comma?)")
		}
		lo, hi := item, item
		if a, b, ok := strings.Cut(item, "-"); ok {
			lo, hi = strings.TrimSpace(a), strings.TrimSpace(b)
			switch {
			case lo == "" && hi != "" && !strings.Contains(hi, "-"):
				return nil, bad(fmt.Sprintf("negative (hop limits are 1..%d)", MaxTTL))
			case lo == "" || hi == "":
				return nil, bad("a range needs a number on each side of its dash (1-6)")
			}
		}
		from, err := parseTTL(lo, limit)
		if err != nil {
			return nil, bad(err.Error())
		}
		to, err := parseTTL(hi, limit)
		if err != nil {
			return nil, bad(err.Error())
		}
		if from > to {
			return nil, bad(fmt.Sprintf("range runs backwards (%d > %d)", from, to))
		}
		for t := from; t <= to; t++ {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MaxTTL is the largest hop limit a study may compare: the most a node
// allows (mesh.MaxHopsLimit). The simulated nodes' max_hops is raised to
// the TTL of each run; real nodes keep theirs, 8 by default.
const MaxTTL = mesh.MaxHopsLimit

// parseTTL parses one hop limit, 1..limit; the error gives the range a
// study allows, 1..MaxTTL.
func parseTTL(s string, limit int) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a whole number", s)
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > limit {
		return 0, fmt.Errorf("%s is out of range (1..%d)", s, MaxTTL)
	}
	return v, nil
}

// FormatTTLs is the inverse of ParseTTLs for display: sorted, duplicates
// removed, runs of three or more consecutive values collapsed into ranges
// ([1 2 3 6] → "1-3,6", [4 5] → "4,5"). An empty list is "".
func FormatTTLs(ttls []int) string {
	v := slices.Clone(ttls)
	slices.Sort(v)
	v = slices.Compact(v)
	var b strings.Builder
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		switch {
		case j-i >= 2:
			fmt.Fprintf(&b, "%d-%d", v[i], v[j])
		case j == i:
			b.WriteString(strconv.Itoa(v[i]))
		default: // a pair
			fmt.Fprintf(&b, "%d,%d", v[i], v[j])
		}
		i = j + 1
	}
	return b.String()
}
