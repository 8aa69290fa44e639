package vm

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEnsureKernelUsesCache proves a cached series needs no apt: with PATH emptied, any apt call fails.
func TestEnsureKernelUsesCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envCache, dir)
	t.Setenv("PATH", t.TempDir())
	vmlinuz := filepath.Join(dir, "pkg", "boot", "vmlinuz-6.1.0-1-cloud-amd64")
	if err := os.MkdirAll(filepath.Dir(vmlinuz), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vmlinuz, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := describeKernel("6.1", "pkg", filepath.Join(dir, "pkg"))
	if err != nil {
		t.Fatalf("describing kernel: %v", err)
	}
	if err := recordKernel(dir, want); err != nil {
		t.Fatalf("recording kernel: %v", err)
	}
	got, err := EnsureKernel(t.Context(), "6.1")
	if err != nil {
		t.Fatalf("EnsureKernel: %v", err)
	}
	if got.Package != "pkg" || got.Release != "6.1.0-1-cloud-amd64" || got.Vmlinuz != vmlinuz {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := EnsureKernel(t.Context(), "6.12"); err == nil {
		t.Error("an uncached series was found without apt")
	}
	if _, err := EnsureKernel(t.Context(), "6.1; rm"); err == nil {
		t.Error("a malformed series was accepted")
	}
}
