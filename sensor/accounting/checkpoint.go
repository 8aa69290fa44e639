package accounting

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/factstream/factstream/schemas"
)

// checkpointFile is the kernel checkpoint inside the state directory.
const checkpointFile = "kernel.json"

// Checkpoint is where the sensor stood in the kernel's record stream: the probes' instance, the highest
// kernel sequence at and below which every record was delivered to JetStream or reported lost there,
// the time from which batches accounting for later records may have been stored, and the counters. With
// pinned probes the kernel keeps recording while the sensor is down; the next run reads what was stored
// since Since to count exactly what the crashed run read from the kernel but never delivered.
type Checkpoint struct {
	BootID    string           `json:"boot_id"`
	Instance  uint64           `json:"instance"`
	KernelSeq uint64           `json:"kernel_seq"`
	Since     time.Time        `json:"since"`
	Counters  schemas.Counters `json:"counters"`
}

// LoadCheckpoint reads the checkpoint of bootID from the state directory dir; another boot's or none is
// the zero Checkpoint.
func LoadCheckpoint(dir, bootID string) (Checkpoint, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading kernel checkpoint: %w", err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return Checkpoint{}, fmt.Errorf("reading kernel checkpoint %s: %w", filepath.Join(dir, checkpointFile), err)
	}
	if cp.BootID != bootID {
		return Checkpoint{}, nil
	}
	return cp, nil
}

// Save writes the checkpoint to the state directory dir atomically: a temporary file, fsync, rename,
// fsync of the directory.
func (cp Checkpoint) Save(dir string) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encoding kernel checkpoint: %w", err)
	}
	tmp := filepath.Join(dir, checkpointFile+".tmp")
	if err := writeSync(tmp, b); err != nil {
		return fmt.Errorf("writing kernel checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, checkpointFile)); err != nil {
		return fmt.Errorf("writing kernel checkpoint: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("writing kernel checkpoint: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("writing kernel checkpoint: %w", err)
	}
	return nil
}

func writeSync(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
