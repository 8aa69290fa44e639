package vm

import (
	"strconv"
	"strings"
)

// newest returns the name with the highest version, comparing runs of digits as numbers, so that
// 6.1.0-56 > 6.1.0-9 and 6.12.117+deb12 > 6.12.99+deb12.
func newest(names []string) string {
	best := names[0]
	for _, n := range names[1:] {
		if compareVersions(n, best) > 0 {
			best = n
		}
	}
	return best
}

// compareVersions orders a and b like `sort -V`: digit runs by value, everything else byte by byte.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		ca, ra := nextChunk(a)
		cb, rb := nextChunk(b)
		if c := compareChunks(ca, cb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// nextChunk splits off the leading run of digits or of non-digits.
func nextChunk(s string) (chunk, rest string) {
	digits := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == digits {
		i++
	}
	return s[:i], s[i:]
}

func compareChunks(a, b string) int {
	if isDigit(a[0]) && isDigit(b[0]) {
		na, errA := strconv.ParseUint(a, 10, 64)
		nb, errB := strconv.ParseUint(b, 10, 64)
		if errA == nil && errB == nil {
			switch {
			case na < nb:
				return -1
			case na > nb:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}
