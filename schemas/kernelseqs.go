package schemas

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KernelSeqsHeader is the NATS header of a raw batch that names the kernel records the batch accounts for:
// the records its events came from and the holes its loss events report. A sensor that restarts reads it
// back to count exactly what its previous run read from the kernel but never delivered. Its value is
// KernelSeqs.String: "<instance>:<ranges>", ranges comma-separated, each "<lo>-<hi>" or "<seq>", in
// decimal. Batches without kernel records (scans) have no such header.
const KernelSeqsHeader = "Factstream-Kernel-Seqs"

// MaxKernelRanges bounds the ranges in one KernelSeqsHeader; a sensor closes a batch before it needs more.
const MaxKernelRanges = 1024

// ErrBadKernelSeqs: a KernelSeqsHeader value that does not parse.
var ErrBadKernelSeqs = errors.New("bad kernel sequence header")

// SeqRange is the kernel record sequence numbers Lo..Hi, both included.
type SeqRange struct{ Lo, Hi uint64 }

// KernelSeqs is the value of a KernelSeqsHeader. Instance names the probes that numbered the records
// (their sequences start again at 1 when the probes are loaded afresh); it is unique within a boot.
type KernelSeqs struct {
	Instance uint64
	Ranges   []SeqRange
}

// String encodes k as the header's value.
func (k KernelSeqs) String() string {
	b := strconv.AppendUint(make([]byte, 0, 24+len(k.Ranges)*24), k.Instance, 10)
	b = append(b, ':')
	for i, r := range k.Ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, r.Lo, 10)
		if r.Hi != r.Lo {
			b = strconv.AppendUint(append(b, '-'), r.Hi, 10)
		}
	}
	return string(b)
}

// ParseKernelSeqs decodes a KernelSeqsHeader value. Errors wrap ErrBadKernelSeqs.
func ParseKernelSeqs(s string) (KernelSeqs, error) {
	inst, list, ok := strings.Cut(s, ":")
	if !ok {
		return KernelSeqs{}, fmt.Errorf("%w %q: no instance", ErrBadKernelSeqs, s)
	}
	var k KernelSeqs
	var err error
	if k.Instance, err = strconv.ParseUint(inst, 10, 64); err != nil {
		return KernelSeqs{}, fmt.Errorf("%w %q: instance: %v", ErrBadKernelSeqs, s, err)
	}
	if list == "" {
		return k, nil
	}
	if n := strings.Count(list, ",") + 1; n > MaxKernelRanges {
		return KernelSeqs{}, fmt.Errorf("%w: %d ranges, at most %d", ErrBadKernelSeqs, n, MaxKernelRanges)
	}
	for part := range strings.SplitSeq(list, ",") {
		r, err := parseRange(part)
		if err != nil {
			return KernelSeqs{}, fmt.Errorf("%w %q: %v", ErrBadKernelSeqs, s, err)
		}
		k.Ranges = append(k.Ranges, r)
	}
	return k, nil
}

func parseRange(s string) (SeqRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	l, err := strconv.ParseUint(lo, 10, 64)
	if err != nil {
		return SeqRange{}, err
	}
	h := l
	if isRange {
		if h, err = strconv.ParseUint(hi, 10, 64); err != nil {
			return SeqRange{}, err
		}
	}
	if h < l {
		return SeqRange{}, fmt.Errorf("range %s ends before it starts", s)
	}
	return SeqRange{l, h}, nil
}

// Len is how many sequence numbers r holds.
func (r SeqRange) Len() uint64 { return r.Hi - r.Lo + 1 }

// AppendSeq adds seq to ranges, extending the last range when seq follows it.
func AppendSeq(ranges []SeqRange, seq uint64) []SeqRange {
	if n := len(ranges); n > 0 && ranges[n-1].Hi+1 == seq {
		ranges[n-1].Hi = seq
		return ranges
	}
	return append(ranges, SeqRange{seq, seq})
}

// SortRanges sorts ranges and merges those that overlap or touch, in place.
func SortRanges(ranges []SeqRange) []SeqRange {
	slices.SortFunc(ranges, func(a, b SeqRange) int {
		switch {
		case a.Lo < b.Lo:
			return -1
		case a.Lo > b.Lo:
			return 1
		}
		return 0
	})
	out := ranges[:0]
	for _, r := range ranges {
		if n := len(out); n > 0 && r.Lo <= out[n-1].Hi+1 && out[n-1].Hi != ^uint64(0) {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}
