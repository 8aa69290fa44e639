package pipeline

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestLayering keeps the resolver, the wire types, the patterns and the client free of the kernel side, so that they build and
// test anywhere without privileges.
func TestLayering(t *testing.T) {
	forbidden := []string{
		"github.com/cilium/ebpf",
		"github.com/factstream/factstream/sensor",
		"github.com/factstream/factstream/bpf",
	}
	for _, dir := range []string{".", "./lease", "./projection", "./internal/snapcodec", "./internal/eventtest", "../schemas", "../glob", "../client"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range append(pkg.Imports, pkg.TestImports...) {
			for _, f := range forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s imports %s", pkg.ImportPath, imp)
				}
			}
		}
	}
}

// TestProjectionWithoutNATS keeps the pure projections free of NATS: package projection (and its tests,
// the snapshot codec under it and the events its tests are fed) must build and run from events alone,
// whatever carries them.
func TestProjectionWithoutNATS(t *testing.T) {
	for _, dir := range []string{"./projection", "./internal/snapcodec", "./internal/eventtest"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range slices.Concat(pkg.Imports, pkg.TestImports, pkg.XTestImports) {
			if strings.HasPrefix(imp, "github.com/nats-io/") {
				t.Errorf("pipeline/%s imports %s", strings.TrimPrefix(dir, "./"), imp)
			}
		}
	}
}
