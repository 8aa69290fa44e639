package accounting

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestLayering keeps the accounting free of NATS, of the kernel side and of package sensor: it works on
// kernel sequences, counter readings, message ids and header values alone, builds and tests anywhere
// without privileges, and package sensor imports it.
func TestLayering(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range slices.Concat(pkg.Imports, pkg.TestImports, pkg.XTestImports) {
		forbidden := imp == "github.com/factstream/factstream/sensor"
		for _, p := range []string{"github.com/nats-io/", "github.com/cilium/ebpf", "github.com/factstream/factstream/bpf"} {
			forbidden = forbidden || strings.HasPrefix(imp, p)
		}
		if forbidden {
			t.Errorf("sensor/accounting imports %s", imp)
		}
	}
}
