package schemas

import "testing"

func TestParseRawSubject(t *testing.T) {
	for _, tc := range []struct {
		subject   string
		partition int
		host      string
		dev       uint64
		ok        bool
	}{
		{"fact.raw.7.node-1.2049", 7, "node-1", 2049, true},
		{"fact.raw.0.h.0", 0, "h", 0, true},
		{"fact.in.node-1.2049", 0, "", 0, false},
		{"fact.raw.7.node-1", 0, "", 0, false},
		{"fact.raw.7.node-1.2049.x", 0, "", 0, false},
		{"fact.raw.x.node-1.2049", 0, "node-1", 2049, false},
		{"fact.raw.7.node-1.-1", 7, "node-1", 0, false},
	} {
		p, h, d, ok := ParseRawSubject(tc.subject)
		if ok != tc.ok || (ok && (p != tc.partition || h != tc.host || d != tc.dev)) {
			t.Errorf("ParseRawSubject(%q) = %d, %q, %d, %v; want %d, %q, %d, %v", tc.subject, p, h, d, ok,
				tc.partition, tc.host, tc.dev, tc.ok)
		}
	}
	// What IngestSubject and the FACT_RAW transform make parses back.
	if p, h, d, ok := ParseRawSubject(RawPrefix + ".3." + IngestSubject("n", 5)[len(IngestPrefix)+1:]); !ok || p != 3 || h != "n" || d != 5 {
		t.Errorf("round trip: %d %q %d %v", p, h, d, ok)
	}
}
