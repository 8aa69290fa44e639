package hasher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// worker is one of Run's goroutines, with its read buffer.
type worker struct {
	h   *Hasher
	buf []byte
}

// hash makes one attempt at req's file. The error is only ctx's, when it ended during the attempt.
func (w *worker) hash(ctx context.Context, req Request) (Result, error) {
	res := Result{ID: req.ID, Algorithm: w.h.cfg.Algorithm, Request: req}
	o, err := w.h.open(req)
	if err != nil {
		res = unreadableResult(res, err)
		res.pathGone = errors.Is(err, unix.ENOENT)
		return res, nil
	}
	defer unix.Close(o.fd)
	res.ByHandle = o.byHandle
	res.Size, res.Mtime = o.st.Size, mtime(&o.st)
	if o.st.Size > w.h.cfg.MaxSize {
		res.State, res.Reason = StateTooLarge, fmt.Sprintf("%d bytes, more than %d", o.st.Size, w.h.cfg.MaxSize)
		return res, nil
	}
	d := w.h.newHash()
	// One byte past the size stat'ed, so a file that grew shows as changed without reading all of it.
	n, err := w.read(ctx, o.fd, o.st.Size+1, d)
	w.h.metrics.bytes.Add(float64(n))
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if err != nil {
		return unreadableResult(res, fmt.Errorf("reading: %w", err)), nil
	}
	var after unix.Stat_t
	if err := unix.Fstat(o.fd, &after); err != nil {
		return unreadableResult(res, fmt.Errorf("fstat after reading: %w", err)), nil
	}
	res.Size, res.Mtime = after.Size, mtime(&after)
	if changed(&o.st, &after) || n != o.st.Size {
		res.State = StateChangedDuringHash
		res.Reason = fmt.Sprintf("read %d bytes of a file of %d then %d bytes, ctime %v then %v",
			n, o.st.Size, after.Size, ctime(&o.st), ctime(&after))
		return res, nil
	}
	res.State, res.Digest = StateOK, d.Sum(nil)
	return res, nil
}

// read feeds the file to sink in chunks, up to limit bytes, and returns how many bytes it read. The
// shared limiter is paid for each chunk after it is read, so a short read at the end costs only itself.
func (w *worker) read(ctx context.Context, fd int, limit int64, sink io.Writer) (int64, error) {
	var n int64
	for n < limit {
		k, err := unix.Pread(fd, w.buf[:min(int64(len(w.buf)), limit-n)], n)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		if k == 0 {
			break
		}
		sink.Write(w.buf[:k]) // a hash.Hash never fails
		n += int64(k)
		if err := w.wait(ctx, k); err != nil {
			return n, err
		}
	}
	return n, nil
}

// wait takes n bytes' worth of tokens from the shared limiter, or checks ctx when unpaced.
func (w *worker) wait(ctx context.Context, n int) error {
	if w.h.limiter == nil {
		return ctx.Err()
	}
	return w.h.limiter.WaitN(ctx, n)
}

func unreadableResult(res Result, err error) Result {
	res.State, res.Reason = StateUnreadable, err.Error()
	return res
}

// changed tells whether the file changed between two stats.
func changed(before, after *unix.Stat_t) bool {
	return before.Size != after.Size || before.Mtim != after.Mtim || before.Ctim != after.Ctim
}

func mtime(st *unix.Stat_t) time.Time { return time.Unix(st.Mtim.Unix()) }
func ctime(st *unix.Stat_t) time.Time { return time.Unix(st.Ctim.Unix()) }
