package pipeline

import (
	"hash/fnv"
	"strconv"
)

// PartitionOf returns the FACT_RAW partition of host's filesystem dev among n: the same as the stream's
// subject transform {{partition(n,1,2)}}, which hashes the host and dev tokens, concatenated, with
// FNV-1a (32 bit). Process events of a host are on dev 0.
func PartitionOf(host string, dev uint64, n int) int {
	if n <= 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(host))
	h.Write(strconv.AppendUint(nil, dev, 10))
	return int(h.Sum32() % uint32(n))
}
