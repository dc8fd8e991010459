package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10s", 10 * time.Second, true},
		{"2m", 2 * time.Minute, true},
		{"168h", 7 * day, true},
		{"7d", 7 * day, true},
		{"1.5d", 36 * time.Hour, true},
		{"1d12h30m", 36*time.Hour + 30*time.Minute, true},
		{"-1h", -time.Hour, true},
		{"-2d", -2 * day, true},
		{"0", 0, true},
		{"0s", 0, true},
		{"50ms", 50 * time.Millisecond, true},
		{"", 0, false},
		{"d", 0, false},
		{"7", 0, false},
		{"7 d", 0, false},
		{"1d-1h", 0, false},
		{"xd", 0, false},
		{"soon", 0, false},
		{"1000000d", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4096", 4096, true},
		{"256MiB", 256 << 20, true},
		{"8MiB", 8 << 20, true},
		{"64KiB", 64 << 10, true},
		{"64kib", 64 << 10, true},
		{"1GB", 1e9, true},
		{"1.5 GiB", 3 << 29, true},
		{"10B", 10, true},
		{"1TiB", 1 << 40, true},
		{"0.5B", 0, false},
		{"1.5", 0, false},
		{"-1MiB", 0, false},
		{"MiB", 0, false},
		{"12 parsecs", 0, false},
		{"10000000TiB", 0, false},
		{"", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// Every duration and size the template writes parses back to itself.
func TestFormatRoundTrips(t *testing.T) {
	for _, d := range []time.Duration{0, time.Nanosecond, 50 * time.Millisecond, time.Second, 90 * time.Second, 10 * time.Minute,
		time.Hour, 90 * time.Minute, 10*time.Hour + time.Second, day, 7 * day, 36 * time.Hour, -time.Hour, 3650 * day, 169*time.Minute + 30*time.Second} {
		got, err := ParseDuration(FormatDuration(d))
		if err != nil || got != d {
			t.Errorf("ParseDuration(FormatDuration(%v) = %q) = %v, %v", d, FormatDuration(d), got, err)
		}
	}
	for _, n := range []int64{0, 1, 1023, 1024, 1536, 8 << 20, 256 << 20, 1e9, 1 << 40, 3 << 40} {
		s := formatSize(n)
		var got int64
		var err error
		if strings.HasPrefix(s, `"`) {
			got, err = parseSize(strings.Trim(s, `"`))
		} else {
			_, err = fmt.Sscan(s, &got)
		}
		if err != nil || got != n {
			t.Errorf("formatSize(%d) = %s parses to %d, %v", n, s, got, err)
		}
	}
}
