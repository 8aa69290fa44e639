package sample

import (
	"os"
	"testing"
	"time"
)

func TestPasses(t *testing.T) {
	t.Log("running as pid", os.Getpid())
	t.Run("sub", func(t *testing.T) { t.Log("a subtest that passes") })
}

func TestSkips(t *testing.T) {
	t.Skip("skipped on purpose")
}

func TestFails(t *testing.T) {
	if os.Getenv("FACTSTREAM_SAMPLE_FAIL") != "1" {
		t.Skip("fails only with FACTSTREAM_SAMPLE_FAIL=1")
	}
	t.Run("inner", func(t *testing.T) { t.Error("failed on purpose") })
}

func TestLSMListed(t *testing.T) {
	b, err := os.ReadFile("/sys/kernel/security/lsm")
	if err != nil {
		t.Skipf("no securityfs here: %v", err)
	}
	t.Logf("lsm: %s", b)
}

func TestCrash(t *testing.T) {
	if os.Getenv("FACTSTREAM_SAMPLE_CRASH") != "1" {
		t.Skip("crashes the kernel only with FACTSTREAM_SAMPLE_CRASH=1")
	}
	// A kernel panic: the harness must notice that no exit line came.
	if err := os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0); err != nil {
		t.Fatalf("triggering a crash: %v", err)
	}
}

func TestHangs(t *testing.T) {
	if os.Getenv("FACTSTREAM_SAMPLE_HANG") != "1" {
		t.Skip("hangs only with FACTSTREAM_SAMPLE_HANG=1")
	}
	t.Log("about to hang")
	for { // a sleep, not an empty select, which the runtime would report as a deadlock
		time.Sleep(time.Hour)
	}
}
