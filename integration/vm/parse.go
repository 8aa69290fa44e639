package vm

import (
	"regexp"
	"strings"
	"time"
)

// Status is how a test in the VM ended.
type Status string

// Statuses of a test.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
	// StatusUnfinished: the test started but printed no result (the binary or the VM died).
	StatusUnfinished Status = "unfinished"
)

// TestResult is one top-level test of the binary run in the VM.
type TestResult struct {
	Name    string
	Status  Status
	Elapsed time.Duration
	// Output is every line the test and its subtests printed, the framing lines of subtests included.
	Output []string
}

var (
	// "=== RUN   TestX", "=== CONT  TestX", "=== PAUSE TestX", "=== NAME  TestX"
	frameRE = regexp.MustCompile(`^=== (RUN|CONT|PAUSE|NAME)\s+(\S+)\s*$`)
	// "--- PASS: TestX (0.01s)", indented for subtests
	resultRE = regexp.MustCompile(`^(\s*)--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)\s*$`)
)

// isSummary tells the lines the testing package prints after all tests; they belong to no test.
func isSummary(l string) bool {
	switch l {
	case "PASS", "FAIL", "testing: warning: no tests to run":
		return true
	}
	return false
}

// testParser reads the output of a test binary run with -test.v, line by line, as it arrives.
type testParser struct {
	tests   []*TestResult
	byName  map[string]*TestResult
	current *TestResult
	other   []string // lines that belong to no test
	// onStart and onDone, when set, hear of each top-level test as it starts and as it ends.
	onStart func(name string)
	onDone  func(TestResult)
}

func newTestParser() *testParser { return &testParser{byName: map[string]*TestResult{}} }

// parseTestOutput splits `-test.v` output into top-level tests, with everything else in other.
func parseTestOutput(lines []string) (tests []TestResult, other []string) {
	p := newTestParser()
	for _, l := range lines {
		p.line(l)
	}
	return p.results()
}

// results returns the top-level tests seen so far, in the order they started, and the other lines.
func (p *testParser) results() (tests []TestResult, other []string) {
	for _, t := range p.tests {
		tests = append(tests, *t)
	}
	return tests, p.other
}

func (p *testParser) line(l string) {
	l = strings.TrimRight(l, "\r")
	if m := frameRE.FindStringSubmatch(l); m != nil {
		p.current = p.test(m[2])
		if strings.Contains(m[2], "/") {
			p.current.Output = append(p.current.Output, l)
		}
		return
	}
	if m := resultRE.FindStringSubmatch(l); m != nil {
		p.result(l, m[2], m[3], m[4])
		return
	}
	if isSummary(l) || p.current == nil {
		p.other = append(p.other, l)
		return
	}
	p.current.Output = append(p.current.Output, l)
}

// test returns the top-level test a (sub)test name belongs to, creating it on first sight.
func (p *testParser) test(name string) *TestResult {
	top, _, _ := strings.Cut(name, "/")
	t, ok := p.byName[top]
	if !ok {
		t = &TestResult{Name: top, Status: StatusUnfinished}
		p.byName[top] = t
		p.tests = append(p.tests, t)
		if p.onStart != nil {
			p.onStart(top)
		}
	}
	return t
}

func (p *testParser) result(l, status, name, secs string) {
	t := p.test(name)
	p.current = t
	if strings.Contains(name, "/") {
		t.Output = append(t.Output, l)
		return
	}
	switch status {
	case "PASS":
		t.Status = StatusPass
	case "FAIL":
		t.Status = StatusFail
	case "SKIP":
		t.Status = StatusSkip
	}
	if d, err := time.ParseDuration(secs + "s"); err == nil {
		t.Elapsed = d
	}
	if p.onDone != nil {
		p.onDone(*t)
	}
}
