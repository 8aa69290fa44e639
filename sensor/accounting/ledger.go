package accounting

import (
	"sync/atomic"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Timings of the gap tracker and the kernel loss reconciliation.
const (
	gapGrace  = 250 * time.Millisecond // how long a hole in the kernel sequence may stay open
	gapWindow = 4096                   // or how many records may arrive after it
	fullGrace = 2 * time.Second        // how long a ring-full rise waits for its hole
)

// Options are what a Ledger reports to besides its results; every field may be left zero.
type Options struct {
	// Gaps counts the holes found in the kernel's record sequence (factstream_sensor_kernel_seq_gaps_total).
	Gaps prometheus.Counter
	// Late counts the records that arrived after their hole was written off (factstream_sensor_kernel_seq_late_total).
	Late prometheus.Counter
	// Logger is where the ledger logs; nil discards.
	Logger *zap.Logger
	// Kick asks for a Poll soon: there are holes to report.
	Kick func()
}

// Ledger accounts for the kernel's records: the gap tracker (holes in the sequence), the kernel loss
// reconciliation (holes against the ringbuffer_full counters), the coverage (which records are durably
// delivered or reported), the restart check (after a restart with pinned probes) and the checkpoint
// those add up to. The drain loop hands it each record (Observe) and each idle poll deadline (Idle); the
// batcher and the publisher tell it what was handed on and acknowledged (Handed, Settle, Forget,
// Acked); the poller asks it for the losses to publish (Poll) and for the checkpoint.
//
// Observe, Idle and Flush belong to one goroutine, the drain loop's (then shutdown's); the other methods
// are safe for concurrent use.
type Ledger struct {
	log     *zap.Logger
	gapsM   prometheus.Counter
	lateM   prometheus.Counter
	kick    func()
	gaps    *gapTracker   // the drain goroutine's, then shutdown's
	kloss   *kernelLoss   // holes and counter rises not reported yet
	cov     *coverage     // which kernel records are delivered or reported, durably
	restart *restartCheck // after a restart with pinned probes, until the previous run's losses are known
	begun   bool          // the first record of this run was observed
	kseq    atomic.Uint64 // highest kernel sequence handed on or reported lost
}

// New sets up the accounting for probes of instance inst, from the checkpoint cp. Probes of the
// checkpoint's instance kept recording while the sensor was down (pinned): the accounting continues from
// the checkpoint, and a restart check settles what the previous run delivered after it. Counter rises
// since the checkpoint (the ring buffer full while nobody read it) explain the holes that show.
func New(cp Checkpoint, inst uint64, o Options) *Ledger {
	l := &Ledger{log: o.Logger, gapsM: o.Gaps, lateM: o.Late, kick: o.Kick,
		kloss: newKernelLoss(cp.Counters, fullGrace), gaps: newGapTracker(gapWindow, gapGrace)}
	l.defaults()
	if inst == 0 || cp.Instance != inst {
		l.cov = newCoverage(inst, 0)
		return l
	}
	l.cov = newCoverage(inst, cp.KernelSeq)
	l.gaps.start(cp.KernelSeq + 1)
	l.restart = &restartCheck{from: cp.KernelSeq + 1, since: cp.Since}
	l.log.Info("continuing pinned probes: counting what the previous run read and did not deliver",
		zap.Uint64("instance", inst), zap.Uint64("checkpoint", cp.KernelSeq), zap.Time("since", cp.Since))
	return l
}

// defaults fills in the options left zero: counters and a logger nobody reads, a kick that does nothing.
func (l *Ledger) defaults() {
	if l.log == nil {
		l.log = zap.NewNop()
	}
	if l.gapsM == nil {
		l.gapsM = prometheus.NewCounter(prometheus.CounterOpts{Name: "unregistered_gaps"})
	}
	if l.lateM == nil {
		l.lateM = prometheus.NewCounter(prometheus.CounterOpts{Name: "unregistered_late"})
	}
	if l.kick == nil {
		l.kick = func() {}
	}
}

// Observe checks a record's kernel sequence: the first of the run starts the accounting, later ones
// show holes.
func (l *Ledger) Observe(seq uint64) {
	if !l.begun {
		l.begun = true
		l.begin(seq)
	}
	if lost := l.gaps.observe(seq, time.Now); lost > 0 {
		l.holes()
	}
	l.kseq.Store(l.gaps.contiguous())
}

// begin handles the first record of this run. With fresh probes no record came before it. With probes
// that kept recording while the sensor was down (pinned), the gap tracker continues from the checkpoint:
// the records between it and this one were delivered by the previous run after its checkpoint, or lost,
// which the restart check settles.
func (l *Ledger) begin(seq uint64) {
	if l.restart == nil {
		l.cov.start(seq)
		return
	}
	l.restart.started(seq)
}

// Idle is the drain loop's look-up when no record came for a while: holes still open are lost.
func (l *Ledger) Idle(now time.Time) {
	if lost := l.gaps.idle(now); lost > 0 {
		l.holes()
	}
	l.kseq.Store(l.gaps.contiguous())
}

// Malformed counts a record read but not decoded: its hole is reported as malformed.
func (l *Ledger) Malformed() { l.kloss.addMalformed() }

// Flush writes off the holes still open (at shutdown, after the drain loop ended).
func (l *Ledger) Flush() {
	if l.gaps.flush() > 0 {
		l.reportHoles(l.restart.filter(l.gaps.takeLost()))
	}
	l.lateM.Add(float64(l.gaps.late))
	l.kseq.Store(l.gaps.contiguous())
}

// holes reports the records the gap tracker found missing from the kernel sequence.
func (l *Ledger) holes() {
	l.gapsM.Inc()
	l.reportHoles(l.restart.filter(l.gaps.takeLost()))
}

// reportHoles hands holes to the loss accounting: later ones as ring losses, before ones as lost across
// a restart.
func (l *Ledger) reportHoles(later, before []schemas.SeqRange) {
	if len(later)+len(before) == 0 {
		return
	}
	l.kloss.addHoles(before, true)
	l.kloss.addHoles(later, false)
	l.kick()
}

// Handed records a batch given to the publisher as id, accounting for the kernel records ranges, opened
// at opened; call it before Publish, so its acknowledgement finds it. It returns the batch's
// schemas.KernelSeqsHeader value.
func (l *Ledger) Handed(id string, ranges []schemas.SeqRange, opened time.Time) string {
	l.cov.handed(id, ranges, opened)
	return l.cov.header(ranges)
}

// Settle accounts for ranges without a batch of this run: records already durable (stored at or after
// at), or reported some other way.
func (l *Ledger) Settle(ranges []schemas.SeqRange, at time.Time) { l.cov.settle(ranges, at) }

// Forget accounts for a batch handed to the publisher that will never be acknowledged: the publisher
// counts and reports what it drops.
func (l *Ledger) Forget(id string) { l.cov.forget(id) }

// Acked accounts for the batch id, acknowledged by JetStream or dropped by the publisher.
func (l *Ledger) Acked(id string) { l.cov.acked(id) }

// Poll takes a counter reading (nil when it could not be read) and returns the losses to publish and
// where in the sequence their holes are. Without losses to publish, those ranges were reported before
// their holes showed and are accounted for now.
func (l *Ledger) Poll(c schemas.Counters, now time.Time) ([]Loss, []schemas.SeqRange) {
	losses, ranges := l.kloss.poll(c, now)
	if len(losses) == 0 {
		l.cov.settle(ranges, now)
	}
	return losses, ranges
}

// Checkpoint is where the accounting stands, for bootID, to be saved.
func (l *Ledger) Checkpoint(bootID string, now time.Time) Checkpoint {
	mark, since := l.cov.state(now)
	return Checkpoint{BootID: bootID, Instance: l.cov.instance, KernelSeq: mark, Since: since, Counters: l.kloss.counters()}
}

// KernelSeq is the highest kernel sequence handed on or reported lost.
func (l *Ledger) KernelSeq() uint64 { return l.kseq.Load() }

// Restarting says a restart check is needed (pinned probes continued from the checkpoint), and since
// when the previous run's batches above the checkpoint may have been stored.
func (l *Ledger) Restarting() (since time.Time, ok bool) {
	if l.restart == nil {
		return time.Time{}, false
	}
	return l.restart.since, true
}

// RestartState says where the restart check is: "" without one (fresh probes), checking, done.
func (l *Ledger) RestartState() string { return l.restart.state() }

// CoverFrom adds to the restart check the kernel records a batch delivered, given its
// schemas.KernelSeqsHeader value (empty without one), when they are of the running probes.
func (l *Ledger) CoverFrom(header string) {
	if l.restart == nil || header == "" {
		return
	}
	k, err := schemas.ParseKernelSeqs(header)
	if err != nil {
		l.log.Warn("ignoring a batch's kernel sequence header", zap.Error(err))
		return
	}
	if k.Instance == l.cov.instance {
		l.restart.cover(k.Ranges)
	}
}

// FinishRestart ends the restart check once what the previous run delivered is known: that is accounted
// for, and the held holes are reported less it. Call it once, and only when Restarting.
func (l *Ledger) FinishRestart() {
	covered, later, before := l.restart.finish()
	l.cov.settle(covered, l.restart.since)
	l.reportHoles(later, before)
	l.log.Info("restart check done: holes in the kernel sequence are reported from now on, less what the previous run delivered",
		zap.Uint64("from", l.restart.from), zap.Int("delivered_ranges", len(covered)), zap.Uint64("lost_so_far", rangesLen(before)))
}
