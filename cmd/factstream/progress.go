package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressLogEvery is how often a replay's progress is written when stderr is not a terminal.
const progressLogEvery = 5 * time.Second

// progress reports how far a replay of FACT_RAW has come, on stderr and never on stdout: a redrawn bar
// with percent, messages/s and ETA on a terminal, otherwise a plain line at most every
// progressLogEvery, and one line when it ends. Its methods are called from the replay's goroutine; it is
// not safe for concurrent use.
type progress struct {
	w     io.Writer
	label string
	bar   *progressbar.ProgressBar // on a terminal, from the first update
	tty   bool
	off   bool
	now   func() time.Time
	start time.Time
	last  time.Time // of the last line written
	done  uint64
	total uint64
}

// newProgress returns the progress of a replay described by label ("replaying web-1"); tty says whether
// w is a terminal, off silences it.
func newProgress(w io.Writer, tty, off bool, label string) *progress {
	now := time.Now()
	return &progress{w: w, label: label, tty: tty, off: off, now: time.Now, start: now, last: now}
}

// update is a pipeline.ReplayOptions.Progress callback: done messages read out of total.
func (p *progress) update(done, total uint64) {
	p.done, p.total = done, total
	if p.off {
		return
	}
	if p.tty {
		p.redraw()
		return
	}
	if now := p.now(); now.Sub(p.last) >= progressLogEvery {
		p.last = now
		fmt.Fprintln(p.w, p.line(now))
	}
}

// redraw moves the bar, creating it on the first call.
func (p *progress) redraw() {
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(int64(p.total),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.label),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionShowIts(),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	if p.bar.GetMax64() != int64(p.total) {
		p.bar.ChangeMax64(int64(p.total))
	}
	_ = p.bar.Set64(int64(p.done))
}

// line describes the progress at now: percent, count, rate and what is left.
func (p *progress) line(now time.Time) string {
	elapsed := now.Sub(p.start)
	rate := float64(p.done) / max(elapsed.Seconds(), 1e-9)
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	s := fmt.Sprintf("%s: %.0f%% (%d of %d messages), %.0f messages/s", p.label, pct, p.done, p.total, rate)
	if p.done < p.total && rate > 0 {
		eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		s += ", ETA " + eta.Round(time.Second).String()
	}
	return s
}

// finish clears the bar, or writes a last line saying how long the replay took when something was read.
func (p *progress) finish() {
	if p.off {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	if p.done == 0 {
		return
	}
	now := p.now()
	fmt.Fprintf(p.w, "%s: read %d messages in %s (%.0f messages/s)\n", p.label, p.done,
		now.Sub(p.start).Round(time.Millisecond), float64(p.done)/max(now.Sub(p.start).Seconds(), 1e-9))
}
