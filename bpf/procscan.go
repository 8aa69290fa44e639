package bpf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/cilium/ebpf/link"
)

// ProcessInfo is one running process as the kernel names it in every record (Tgid and Start, the group
// leader's start time in ns since boot), generated from struct proc_info.
type ProcessInfo = lsmProcInfo

// procInfoSize is the size of one record of the task iterator; a test pins it.
const procInfoSize = int(unsafe.Sizeof(ProcessInfo{}))

// CommBytes returns the process's comm without its NUL padding.
func (pi *ProcessInfo) CommBytes() []byte { return commBytes(pi.Comm) }

// Processes lists the processes running now, with the keys the probes use for them, by running the task
// iterator once: the sensor's process scan, for processes that started before the probes. Processes that
// start or end meanwhile may or may not be listed; their fork, exec and exit records say what happened.
func (p *Probes) Processes() ([]ProcessInfo, error) {
	prog := p.objs.ScanTasks
	if prog == nil {
		return nil, fmt.Errorf("list processes: %w", ErrNoTaskIterator)
	}
	it, err := link.AttachIter(link.IterOptions{Program: prog})
	if err != nil {
		return nil, fmt.Errorf("list processes: attach task iterator: %w", err)
	}
	defer it.Close()
	rd, err := it.Open()
	if err != nil {
		return nil, fmt.Errorf("list processes: open task iterator: %w", err)
	}
	defer rd.Close()
	procs, err := readProcessInfos(bufio.NewReaderSize(rd, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return procs, nil
}

// readProcessInfos decodes the iterator's output: whole proc_info records, nothing else.
func readProcessInfos(r io.Reader) ([]ProcessInfo, error) {
	var procs []ProcessInfo
	for {
		var pi ProcessInfo
		err := binary.Read(r, binary.NativeEndian, &pi)
		switch {
		case errors.Is(err, io.EOF):
			return procs, nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return procs, fmt.Errorf("%w: a partial process record", ErrMalformed)
		case err != nil:
			return procs, err
		}
		procs = append(procs, pi)
	}
}
