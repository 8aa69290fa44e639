package vm

import (
	"path/filepath"
	"testing"
)

func TestNormalizeModule(t *testing.T) {
	for in, want := range map[string]string{
		"overlay": "overlay", "nf-conntrack": "nf_conntrack", "kernel/fs/overlayfs/overlay.ko.xz": "overlay",
		"loop.ko": "loop",
	} {
		if got := normalizeModule(in); got != want {
			t.Errorf("normalizeModule(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPrepareModules resolves a module with dependencies in each kernel: Debian ships no modules.dep, and
// compresses modules in 6.12 but not in 6.1.
func TestPrepareModules(t *testing.T) {
	for _, series := range Series() {
		t.Run(series, func(t *testing.T) {
			k := ensureKernel(t, series)
			mods, err := prepareModules(t.Context(), k, []string{"vmw_vsock_virtio_transport", "loop"}, t.TempDir())
			if err != nil {
				t.Fatalf("preparing modules: %v", err)
			}
			pos := map[string]int{}
			for i, m := range mods {
				pos[m.name] = i
				if filepath.Ext(m.host) != ".ko" || filepath.Ext(m.guest) != ".ko" {
					t.Errorf("%s: not decompressed: %s -> %s", m.name, m.host, m.guest)
				}
			}
			for _, name := range []string{"vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport"} {
				if _, ok := pos[name]; !ok {
					t.Fatalf("%s missing from %+v", name, mods)
				}
			}
			if pos["vsock"] > pos["vmw_vsock_virtio_transport"] {
				t.Errorf("vsock comes after the module that needs it: %+v", mods)
			}
		})
	}
}
