package shellquote

import "testing"

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/home/a/.toxmail/toxmail.toml", "/home/a/.toxmail/toxmail.toml"},
		{"sp ace/toxmail.toml", "'sp ace/toxmail.toml'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"", "''"},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
