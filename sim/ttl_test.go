package sim

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTTLs(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"1,2,4", []int{1, 2, 4}},
		{"1-8", []int{1, 2, 3, 4, 5, 6, 7, 8}},
		{"1-3,6", []int{1, 2, 3, 6}},
		{"6, 1-3", []int{1, 2, 3, 6}},
		{"4,4,2-5,3", []int{2, 3, 4, 5}},
		{" 7 ", []int{7}},
		{"3 - 4", []int{3, 4}},
		{"5-5", []int{5}},
		{"64", []int{64}},
		{"1-64", func() []int {
			var all []int
			for i := 1; i <= 64; i++ {
				all = append(all, i)
			}
			return all
		}()},
	}
	for _, tt := range tests {
		got, err := ParseTTLs(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseTTLs(%q): got %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTTLsErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // the part the error must name
	}{
		{"", "empty"},
		{"  ", "empty"},
		{"0", `"0"`},
		{"1,65", `"65" in "1,65": 65 is out of range (1..64)`},
		{"1-255", `"1-255" in "1-255": 255 is out of range (1..64)`},
		{"1,,2", "empty item"},
		{"1,", "empty item"},
		{"x", `"x"`},
		{"1,2,three", `"three"`},
		{"5-2", `"5-2"`},
		{"1-", `"1-" in "1-": a range needs a number on each side`},
		{"-3", `"-3" in "-3": negative`},
		{"-1-3", `"-1-3" in "-1-3": a range needs a number on each side`},
		{"1-2-3", `"1-2-3"`},
		{"+1", `"+1"`},
		{"1.5", `"1.5"`},
		{"99999999999999999999", "out of range"},
	}
	for _, tt := range tests {
		got, err := ParseTTLs(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTTLs(%q): got %v, %v, want an error containing %s", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatTTLs(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{1, 2, 3, 6}, "1-3,6"},
		{[]int{1, 2, 3, 4, 5, 6}, "1-6"},
		{[]int{4, 5}, "4,5"},
		{[]int{1, 3, 5}, "1,3,5"},
		{[]int{6, 1, 3, 2, 3}, "1-3,6"},
		{[]int{7}, "7"},
		{nil, ""},
		{[]int{1, 2, 3, 5, 6, 8, 9, 10, 11}, "1-3,5,6,8-11"},
	}
	for _, tt := range tests {
		got := FormatTTLs(tt.in)
		if got != tt.want {
			t.Errorf("FormatTTLs(%v): got %q, want %q", tt.in, got, tt.want)
		}
		if len(tt.in) == 0 {
			continue
		}
		back, err := ParseTTLs(got)
		want := slices.Compact(slices.Sorted(slices.Values(tt.in)))
		if err != nil || !slices.Equal(back, want) {
			t.Errorf("ParseTTLs(FormatTTLs(%v)): got %v, %v, want %v", tt.in, back, err, want)
		}
	}
}

// ParseTTLSyntax leaves the range to Validate, within reason.
func TestParseTTLSyntax(t *testing.T) {
	got, err := ParseTTLSyntax("8, 99-100")
	if err != nil || !slices.Equal(got, []int{8, 99, 100}) {
		t.Errorf("ParseTTLSyntax(8, 99-100) = %v, %v", got, err)
	}
	c := DefaultConfig()
	c.TTLs = got
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "sim: ttl = 100 is out of range (1..64)") {
		t.Errorf("Validate: %v", err)
	}
	for _, in := range []string{"1-1000000000", "0", "5-2", "1,,2"} {
		if got, err := ParseTTLSyntax(in); err == nil {
			t.Errorf("ParseTTLSyntax(%q) = %v, want an error", in, got)
		}
	}
}
