package sensor

import (
	"sync/atomic"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// accountant owns the accounting of kernel records: the gap tracker (holes in the sequence), the kernel
// loss reconciliation (holes against the ringbuffer_full counters), the coverage (which records are
// durably delivered or reported), the restart check (after a restart with pinned probes) and the
// checkpoint those add up to. The drain loop hands it each record (observe) and each idle poll deadline
// (idle); the batcher and the publisher tell it what was handed on and acknowledged; the poller asks it
// for the losses to publish and for the checkpoint.
//
// observe, idle, malformed and flush belong to the drain goroutine (then shutdown's); the other methods
// are safe for concurrent use.
type accountant struct {
	log     *zap.Logger
	m       *metrics
	kick    func()        // asks the poller to run soon: there are holes to report
	gaps    *gapTracker   // the drain goroutine's, then shutdown's
	kloss   *kernelLoss   // holes and counter rises not reported yet
	cov     *coverage     // which kernel records are delivered or reported, durably
	restart *restartCheck // after a restart with pinned probes, until the previous run's losses are known
	begun   bool          // the first record of this run was observed
	kseq    atomic.Uint64 // highest kernel sequence handed on or reported lost
}

// newAccountant sets up the accounting for probes of instance inst, from the checkpoint cp. Probes of
// the checkpoint's instance kept recording while the sensor was down (pinned): the accounting continues
// from the checkpoint, and a restart check settles what the previous run delivered after it. Counter
// rises since the checkpoint (the ring buffer full while nobody read it) explain the holes that show.
func newAccountant(cp checkpoint, inst uint64, m *metrics, log *zap.Logger, kick func()) *accountant {
	a := &accountant{log: log, m: m, kick: kick,
		kloss: newKernelLoss(cp.Counters, fullGrace), gaps: newGapTracker(gapWindow, gapGrace)}
	if inst == 0 || cp.Instance != inst {
		a.cov = newCoverage(inst, 0)
		return a
	}
	a.cov = newCoverage(inst, cp.KernelSeq)
	a.gaps.start(cp.KernelSeq + 1)
	a.restart = &restartCheck{from: cp.KernelSeq + 1, since: cp.Since}
	log.Info("continuing pinned probes: counting what the previous run read and did not deliver",
		zap.Uint64("instance", inst), zap.Uint64("checkpoint", cp.KernelSeq), zap.Time("since", cp.Since))
	return a
}

// observe checks a record's kernel sequence: the first of the run starts the accounting, later ones
// show holes.
func (a *accountant) observe(seq uint64) {
	if !a.begun {
		a.begun = true
		a.begin(seq)
	}
	if lost := a.gaps.observe(seq, time.Now); lost > 0 {
		a.holes()
	}
	a.kseq.Store(a.gaps.contiguous())
}

// begin handles the first record of this run. With fresh probes no record came before it. With probes
// that kept recording while the sensor was down (pinned), the gap tracker continues from the checkpoint:
// the records between it and this one were delivered by the previous run after its checkpoint, or lost,
// which the restart check settles.
func (a *accountant) begin(seq uint64) {
	if a.restart == nil {
		a.cov.start(seq)
		return
	}
	a.restart.started(seq)
}

// idle is the drain loop's look-up when no record came for a while: holes still open are lost.
func (a *accountant) idle(now time.Time) {
	if lost := a.gaps.idle(now); lost > 0 {
		a.holes()
	}
	a.kseq.Store(a.gaps.contiguous())
}

// malformed counts a record read but not decoded: its hole is reported as malformed.
func (a *accountant) malformed() { a.kloss.addMalformed() }

// flush writes off the holes still open (at shutdown, after the drain loop ended).
func (a *accountant) flush() {
	if a.gaps.flush() > 0 {
		a.reportHoles(a.restart.filter(a.gaps.takeLost()))
	}
	a.m.seqLate.Add(float64(a.gaps.late))
	a.kseq.Store(a.gaps.contiguous())
}

// holes reports the records the gap tracker found missing from the kernel sequence.
func (a *accountant) holes() {
	a.m.seqGaps.Inc()
	a.reportHoles(a.restart.filter(a.gaps.takeLost()))
}

// reportHoles hands holes to the loss accounting: later ones as ring losses, before ones as lost across
// a restart.
func (a *accountant) reportHoles(later, before []schemas.SeqRange) {
	if len(later)+len(before) == 0 {
		return
	}
	a.kloss.addHoles(before, true)
	a.kloss.addHoles(later, false)
	a.kick()
}

// acked accounts for the batch id, acknowledged by JetStream or dropped by the publisher.
func (a *accountant) acked(id string) { a.cov.acked(id) }

// poll takes a counter reading (nil when it could not be read) and returns the losses to publish and
// where in the sequence their holes are. Without losses to publish, those ranges were reported before
// their holes showed and are accounted for now.
func (a *accountant) poll(c bpf.Counters, now time.Time) ([]lossCount, []schemas.SeqRange) {
	losses, ranges := a.kloss.poll(c, now)
	if len(losses) == 0 {
		a.cov.settle(ranges, now)
	}
	return losses, ranges
}

// checkpoint is where the accounting stands, for bootID, to be saved.
func (a *accountant) checkpoint(bootID string, now time.Time) checkpoint {
	mark, since := a.cov.state(now)
	return checkpoint{BootID: bootID, Instance: a.cov.instance, KernelSeq: mark, Since: since, Counters: a.kloss.counters()}
}

// kernelSeq is the highest kernel sequence handed on or reported lost.
func (a *accountant) kernelSeq() uint64 { return a.kseq.Load() }

// restarting says a restart check is needed (pinned probes continued from the checkpoint).
func (a *accountant) restarting() bool { return a.restart != nil }

// coverFrom adds to the restart check the kernel records a batch with header h delivered, when they are
// of the running probes.
func (a *accountant) coverFrom(h nats.Header) {
	v := h.Get(schemas.KernelSeqsHeader)
	if a.restart == nil || v == "" {
		return
	}
	k, err := schemas.ParseKernelSeqs(v)
	if err != nil {
		a.log.Warn("ignoring a batch's kernel sequence header", zap.Error(err))
		return
	}
	if k.Instance == a.cov.instance {
		a.restart.cover(k.Ranges)
	}
}

// finishRestart ends the restart check once what the previous run delivered is known: that is accounted
// for, and the held holes are reported less it.
func (a *accountant) finishRestart() {
	covered, later, before := a.restart.finish()
	a.cov.settle(covered, a.restart.since)
	a.reportHoles(later, before)
	a.log.Info("restart check done: holes in the kernel sequence are reported from now on, less what the previous run delivered",
		zap.Uint64("from", a.restart.from), zap.Int("delivered_ranges", len(covered)), zap.Uint64("lost_so_far", rangesLen(before)))
}
