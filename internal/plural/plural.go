// Package plural writes counts of things in English for messages and
// reports: "1 message", "3 messages". Every noun the project counts takes
// a plain s.
package plural

import "strconv"

// Count is n and noun, the noun with an s unless n is 1.
func Count(n int, noun string) string { return strconv.Itoa(n) + " " + Noun(n, noun) }

// Noun is noun with an s unless n is 1.
func Noun(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
