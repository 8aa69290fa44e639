package vm

import (
	"reflect"
	"strings"
	"testing"
)

// Recorded -test.v outputs of test binaries (go1.26), as they come over the VM's output port.
const (
	recordedSample = `=== RUN   TestPasses
    sample_test.go:9: running as pid 142
=== RUN   TestPasses/sub
    sample_test.go:10: a subtest that passes
--- PASS: TestPasses (0.01s)
    --- PASS: TestPasses/sub (0.00s)
=== RUN   TestSkips
    sample_test.go:14: skipped on purpose
--- SKIP: TestSkips (0.00s)
=== RUN   TestFails
=== RUN   TestFails/inner
    sample_test.go:21: failed on purpose
--- FAIL: TestFails (0.00s)
    --- FAIL: TestFails/inner (0.00s)
FAIL`
	recordedParallel = `=== RUN   TestA
=== PAUSE TestA
=== RUN   TestB
=== PAUSE TestB
=== RUN   TestPanic
    p_test.go:26: no panic
--- SKIP: TestPanic (0.00s)
=== CONT  TestA
    p_test.go:12: a1
=== CONT  TestB
raw print from B
    p_test.go:21: b failed
--- FAIL: TestB (0.01s)
=== NAME  TestA
    p_test.go:14: a2
--- PASS: TestA (0.02s)
FAIL`
	recordedPanic = `=== RUN   TestPanic
--- FAIL: TestPanic (0.00s)
panic: boom [recovered, repanicked]

goroutine 19 [running]:
ptest.TestPanic(0x6baeaeee248)
	/tmp/ptest/p_test.go:28 +0x3d`
	// The VM died in the middle of a test.
	recordedCrash = `=== RUN   TestCrash
    sample_test.go:40: about to crash`
	recordedNoTests = `testing: warning: no tests to run
PASS`
	// \r\n line ends, as a tty that was not set raw would send them.
	recordedCRLF = "=== RUN   TestX\r\n    x_test.go:1: hi\r\n--- PASS: TestX (1.50s)\r\nPASS\r"
)

func TestParseTestOutput(t *testing.T) {
	type want struct {
		name   string
		status Status
		output []string
	}
	cases := []struct {
		name  string
		in    string
		tests []want
		other []string
	}{
		{"pass skip fail with subtests", recordedSample, []want{
			{"TestPasses", StatusPass, []string{
				"    sample_test.go:9: running as pid 142", "=== RUN   TestPasses/sub",
				"    sample_test.go:10: a subtest that passes", "    --- PASS: TestPasses/sub (0.00s)"}},
			{"TestSkips", StatusSkip, []string{"    sample_test.go:14: skipped on purpose"}},
			{"TestFails", StatusFail, []string{
				"=== RUN   TestFails/inner", "    sample_test.go:21: failed on purpose", "    --- FAIL: TestFails/inner (0.00s)"}},
		}, []string{"FAIL"}},
		{"parallel", recordedParallel, []want{
			{"TestA", StatusPass, []string{"    p_test.go:12: a1", "    p_test.go:14: a2"}},
			{"TestB", StatusFail, []string{"raw print from B", "    p_test.go:21: b failed"}},
			{"TestPanic", StatusSkip, []string{"    p_test.go:26: no panic"}},
		}, []string{"FAIL"}},
		{"panic", recordedPanic, []want{
			{"TestPanic", StatusFail, []string{"panic: boom [recovered, repanicked]", "", "goroutine 19 [running]:",
				"ptest.TestPanic(0x6baeaeee248)", "\t/tmp/ptest/p_test.go:28 +0x3d"}},
		}, nil},
		{"crash", recordedCrash, []want{
			{"TestCrash", StatusUnfinished, []string{"    sample_test.go:40: about to crash"}},
		}, nil},
		{"no tests", recordedNoTests, nil, []string{"testing: warning: no tests to run", "PASS"}},
		{"crlf", recordedCRLF, []want{{"TestX", StatusPass, []string{"    x_test.go:1: hi"}}}, []string{"PASS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tests, other := parseTestOutput(strings.Split(c.in, "\n"))
			var got []want
			for _, tr := range tests {
				got = append(got, want{tr.Name, tr.Status, tr.Output})
			}
			if !reflect.DeepEqual(got, c.tests) {
				t.Errorf("tests:\ngot  %q\nwant %q", got, c.tests)
			}
			if !reflect.DeepEqual(other, c.other) {
				t.Errorf("other: got %q, want %q", other, c.other)
			}
		})
	}
}

func TestParseElapsed(t *testing.T) {
	tests, _ := parseTestOutput(strings.Split(recordedCRLF, "\n"))
	if len(tests) != 1 || tests[0].Elapsed.Seconds() != 1.5 {
		t.Fatalf("got %+v, want TestX with 1.5s", tests)
	}
}
