package vm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCPIOListsWithCpio writes an archive and lets the cpio tool, which reads what the kernel reads,
// list it back.
func TestCPIOListsWithCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio tool to check the archive with")
	}
	src := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	steps := []error{
		c.File("init", src),
		c.Bytes("etc/conf/vm.json", 0o644, []byte(`{"path":"/init"}`)),
		c.CharDev("dev/console", 0o600, 5, 1),
		c.Dir("root"),
		c.Close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -it: %v\n%s", err, out)
	}
	listing := string(out)
	for _, want := range []string{"-rwxr-xr-x", " init\n", "drwxr-xr-x", " etc/conf\n", " etc/conf/vm.json\n", "crw-------", "5,   1", " dev/console\n", " root\n"} {
		if !strings.Contains(listing, want) {
			t.Errorf("listing lacks %q:\n%s", want, listing)
		}
	}
}
