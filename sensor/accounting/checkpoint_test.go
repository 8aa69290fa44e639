package accounting

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
)

// TestCheckpointRoundTrip: a saved checkpoint loads back for its boot; another boot's, a missing one and
// an unreadable one do not.
func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if cp, err := LoadCheckpoint(dir, "boot1"); err != nil || !reflect.DeepEqual(cp, Checkpoint{}) {
		t.Fatalf("no checkpoint: %+v, %v", cp, err)
	}
	cp := Checkpoint{BootID: "boot1", Instance: 7, KernelSeq: 100, Since: time.Unix(1000, 0).UTC(),
		Counters: schemas.Counters{"file_open": {RingbufferFull: 3}}}
	if err := cp.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(dir, "boot1")
	if err != nil || !reflect.DeepEqual(got, cp) {
		t.Fatalf("loaded %+v, %v, want %+v", got, err, cp)
	}
	if got, err := LoadCheckpoint(dir, "boot2"); err != nil || !reflect.DeepEqual(got, Checkpoint{}) {
		t.Fatalf("another boot's checkpoint: %+v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(dir, "boot1"); err == nil {
		t.Fatal("an unreadable checkpoint loaded")
	}
}
