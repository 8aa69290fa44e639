package eventtest

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Unhex decodes pinned bytes (a golden snapshot) written as hex over several lines, failing tb when
// they are not hex.
func Unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
