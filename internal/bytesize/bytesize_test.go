package bytesize

import "testing"

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{16 << 20, "16.0 MiB"}, {4 << 30, "4.0 GiB"}, {3 << 40, "3.0 TiB"},
		{5 << 50, "5120.0 TiB"}, {-2048, "-2.0 KiB"}, {-5, "-5 B"},
	} {
		if got := Format(tt.n); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
