// Package shellquote writes a file name into a command line the user is
// told to run, so that a path with spaces or quotes pastes as one word.
package shellquote

import "strings"

// Quote returns s as one word for a POSIX shell: as it is when it holds
// only characters no shell treats specially, else in single quotes, each
// single quote inside closing the quotes, escaped, and opening them again.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
