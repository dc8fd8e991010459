// Package bytesize writes sizes for people in binary units, one way for
// every message and page: "512 B", "3.4 KiB", "16.0 MiB", "4.0 GiB".
package bytesize

import "fmt"

// Format writes n with the largest binary unit (B, KiB, MiB, GiB, TiB)
// that keeps it at 1 or more, with one decimal beyond bytes.
func Format(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if v < unit && v > -unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
