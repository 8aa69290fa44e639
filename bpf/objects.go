package bpf

import (
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
)

// The objects Go touches, by the names the C gives them, assigned from the spec before load and from the
// loaded collection after it (cilium/ebpf's `ebpf:"name"` tags): an object a set lacks is a load error that
// names it, not a nil map found later. The attached programs are not here (only the task iterator, which
// every set has): which ones a set attaches depends on the kernel (configure drops hooks it lacks), so they
// are attached from the collection by attach point.

// specObjects are what configure sets on a spec before it loads: map sizes and load-time constants.
type specObjects struct {
	Events       *ebpf.MapSpec      `ebpf:"events"`
	Tracked      *ebpf.MapSpec      `ebpf:"tracked"`
	Prefixes     *ebpf.MapSpec      `ebpf:"prefixes"`
	HostMntns    *ebpf.VariableSpec `ebpf:"host_mntns"`
	WakeupBytes  *ebpf.VariableSpec `ebpf:"wakeup_bytes"`
	ReportCloses *ebpf.VariableSpec `ebpf:"report_closes"`
}

// dentryLayoutSpec are the tracepoint set's constants for walking a directory's children.
type dentryLayoutSpec struct {
	ChildrenHlist *ebpf.VariableSpec `ebpf:"dentry_children_hlist"`
	ChildrenOff   *ebpf.VariableSpec `ebpf:"dentry_children_off"`
	SiblingOff    *ebpf.VariableSpec `ebpf:"dentry_sibling_off"`
}

// probeObjects are the loaded maps and programs both sets share.
type probeObjects struct {
	Events          *ebpf.Map     `ebpf:"events"`
	Tracked         *ebpf.Map     `ebpf:"tracked"`
	Prefixes        *ebpf.Map     `ebpf:"prefixes"`
	RuntimeSettings *ebpf.Map     `ebpf:"runtime_settings"`
	MonitoredMounts *ebpf.Map     `ebpf:"monitored_mounts"`
	Sequence        *ebpf.Map     `ebpf:"sequence"`
	Counters        *ebpf.Map     `ebpf:"counters"`
	Stashes         *ebpf.Map     `ebpf:"stashes"`
	ScanTasks       *ebpf.Program `ebpf:"scan_tasks"`
}

// tpObjects are the tracepoint set's own: the program arrays its dispatchers index by system-call
// number, and the generations that invalidate its discarders (include/discard.h).
type tpObjects struct {
	SysEnterCalls *ebpf.Map `ebpf:"sys_enter_calls"`
	SysExitCalls  *ebpf.Map `ebpf:"sys_exit_calls"`
	DiscardGen    *ebpf.Map `ebpf:"discard_gen"`
}

func (o *probeObjects) close() error {
	return closeAll(o.Events, o.Tracked, o.Prefixes, o.RuntimeSettings, o.MonitoredMounts, o.Sequence, o.Counters,
		o.Stashes, o.ScanTasks)
}

func (o *tpObjects) close() error { return closeAll(o.SysEnterCalls, o.SysExitCalls, o.DiscardGen) }

// closeAll closes each object; a nil one (a failed Assign leaves some) closes as nothing.
func closeAll(objs ...io.Closer) error {
	var errs []error
	for _, o := range objs {
		errs = append(errs, o.Close())
	}
	return errors.Join(errs...)
}

// assignObjects moves the shared objects (and, for the tracepoint set, its own) out of coll.
func (p *Probes) assignObjects(coll *ebpf.Collection) error {
	if err := coll.Assign(&p.objs); err != nil {
		return fmt.Errorf("find the probes' objects: %w", err)
	}
	if p.set != ProbeSetTracepoint {
		return nil
	}
	if err := coll.Assign(&p.tp); err != nil {
		return fmt.Errorf("find the tracepoint set's objects: %w", err)
	}
	return nil
}
