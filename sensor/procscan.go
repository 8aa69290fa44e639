package sensor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"go.uber.org/zap"
)

// procRoot is where the process scan reads what the kernel's iterator does not give (exe, arguments,
// cgroup path). It is the sensor's own /proc, also under --host-root: a sensor in a container shares the
// host's PID namespace (hostPID), or the probes' process ids would mean nothing to it.
const procRoot = "/proc"

// maxScanArgs bounds the arguments a process scan reports, as the probes bound an exec's (AUX_MAX_LEN).
const maxScanArgs = 512

// scanProcesses publishes an exec event from the scan (probe "scan") for every process running now, with
// the keys the probes use (tgid and start time, from the kernel's task iterator) and its exe, arguments
// and cgroup from /proc, so that the resolver knows the processes that started before the probes. It
// returns how many it published.
func (s *Sensor) scanProcesses() (int, error) {
	start := time.Now()
	procs, err := s.kernel.Processes()
	if err != nil {
		return 0, fmt.Errorf("scanning processes: %w", err)
	}
	now := start.UnixNano()
	evs := make([]schemas.RawEvent, 0, len(procs))
	for i := range procs {
		evs = append(evs, scannedExec(&procs[i], now))
	}
	if err := s.batch.addAll(evs, fromScan); err != nil {
		return 0, fmt.Errorf("scanning processes: %w", err)
	}
	s.log.Info("process scan published", zap.Int("processes", len(evs)), zap.Duration("took", time.Since(start)))
	return len(evs), nil
}

// scannedExec is the exec event the scan reports for pi; a process that ended since the kernel listed
// it, or a kernel thread, has no exe, arguments or cgroup path.
func scannedExec(pi *bpf.ProcessInfo, now int64) schemas.RawEvent {
	ev := schemas.RawEvent{Kind: schemas.KindExec, Probe: schemas.ProbeScan, Time: now,
		Proc: schemas.Process{Pid: pi.Tgid, Tgid: pi.Tgid, UID: pi.Uid, GID: pi.Gid, LoginUID: pi.Loginuid,
			Comm: pi.CommBytes(), Start: pi.Start, CgroupID: pi.CgroupId, MntNS: pi.Mntns},
		PPid: pi.ParentTgid, ParentStart: pi.ParentStart}
	dir := procRoot + "/" + strconv.FormatUint(uint64(pi.Tgid), 10)
	if exe, err := os.Readlink(dir + "/exe"); err == nil {
		ev.Exe = []byte(exe)
	}
	if args, err := os.ReadFile(dir + "/cmdline"); err == nil {
		if len(args) > maxScanArgs {
			args, ev.Flags = args[:maxScanArgs], ev.Flags|schemas.FlagTruncated
		}
		ev.Args = args
	}
	if cg, err := os.ReadFile(dir + "/cgroup"); err == nil {
		ev.Cgroup = unifiedCgroup(cg)
	}
	return ev
}

// unifiedCgroup returns the cgroup v2 path of a /proc/<pid>/cgroup file (its "0::<path>" line), nil
// when there is none.
func unifiedCgroup(file []byte) []byte {
	for line := range bytes.Lines(file) {
		if p, ok := bytes.CutPrefix(bytes.TrimRight(line, "\n"), []byte("0::")); ok {
			return p
		}
	}
	return nil
}
