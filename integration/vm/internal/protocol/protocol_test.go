package protocol

import (
	"testing"
	"time"
)

func TestLineRoundTrip(t *testing.T) {
	cases := []struct{ kind, payload string }{
		{KindStart, ""},
		{KindLog, "loaded module overlay.ko"},
		{KindError, "two\nlines"},
	}
	for _, c := range cases {
		kind, payload, ok := Parse(Line(c.kind, c.payload))
		if !ok || kind != c.kind {
			t.Errorf("Parse(Line(%q, %q)) = %q, %q, %v", c.kind, c.payload, kind, payload, ok)
		}
	}
	if _, payload, _ := Parse(Line(KindError, "two\nlines")); payload != "two | lines" {
		t.Errorf("newlines not folded: %q", payload)
	}
	if _, _, ok := Parse("=== RUN   TestX"); ok {
		t.Error("an unmarked line parsed as marked")
	}
}

func TestExitLine(t *testing.T) {
	for _, code := range []int{0, 1, -1, 125} {
		kind, payload, ok := Parse(ExitLine(code))
		got, err := ParseExit(payload)
		if !ok || kind != KindExit || err != nil || got != code {
			t.Errorf("ExitLine(%d) parsed as %q %q %v: %d, %v", code, kind, payload, ok, got, err)
		}
	}
	if _, err := ParseExit("x"); err == nil {
		t.Error("ParseExit accepted x")
	}
}

func TestScaleLine(t *testing.T) {
	kind, payload, ok := Parse(ScaleLine(6.25, 1500*time.Millisecond, 240*time.Millisecond))
	got, err := ParseScale(payload)
	if !ok || kind != KindScale || err != nil || got != 6.25 {
		t.Errorf("ScaleLine parsed as %q %q %v: %v, %v", kind, payload, ok, got, err)
	}
	for _, bad := range []string{"", "x", "0", "-2 guest 1s"} {
		if _, err := ParseScale(bad); err == nil {
			t.Errorf("ParseScale accepted %q", bad)
		}
	}
}
