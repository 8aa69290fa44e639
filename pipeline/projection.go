package pipeline

import (
	"io"

	"github.com/factstream/factstream/pipeline/projection"
)

// The pure projections live in package projection; these names keep pipeline's API for its callers.

type (
	// Key names the filesystem of a host that one Index covers.
	Key = projection.Key
	// Index is the inode→path projection of one filesystem of one host.
	Index = projection.Index
	// Indexes holds the Index of every filesystem of every host in a partition of the raw stream.
	Indexes = projection.Indexes
	// Change is what an event means for the host paths of its file.
	Change = projection.Change
	// ProcTable is the process table of one host.
	ProcTable = projection.ProcTable
	// ProcLimits bound a ProcTable.
	ProcLimits = projection.ProcLimits
)

// Defaults of ProcLimits.
const (
	DefaultProcRetain = projection.DefaultProcRetain
	DefaultMaxProcs   = projection.DefaultMaxProcs
	DefaultMaxImages  = projection.DefaultMaxImages
	DefaultMaxLineage = projection.DefaultMaxLineage
)

// NewIndex returns an empty index.
func NewIndex() *Index { return projection.NewIndex() }

// NewIndexes returns an empty set of indexes.
func NewIndexes() *Indexes { return projection.NewIndexes() }

// NewProcTable returns an empty process table bounded by lim.
func NewProcTable(lim ProcLimits) *ProcTable { return projection.NewProcTable(lim) }

// ReadSnapshot reads an index written by Index.WriteSnapshot and the stream sequence it covers. Errors
// wrap ErrBadSnapshot.
func ReadSnapshot(r io.Reader) (*Index, uint64, error) { return projection.ReadSnapshot(r) }

// ReadIndexesSnapshot reads indexes written by Indexes.WriteSnapshot and the stream sequence they cover.
// Errors wrap ErrBadSnapshot.
func ReadIndexesSnapshot(r io.Reader) (*Indexes, uint64, error) {
	return projection.ReadIndexesSnapshot(r)
}

// ContainerID returns the id of the container a cgroup path belongs to, or "" when it is not a
// container's.
func ContainerID(cgroup []byte) string { return projection.ContainerID(cgroup) }
