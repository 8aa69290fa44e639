package hasher

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// maxSamples bounds the files a filesystem's layout is learned from.
const maxSamples = 16

// filesystem is what the hasher knows of one st_dev: a descriptor to open its handles against and, once
// learned, its handle layout. Guarded by Hasher.fsMu.
type filesystem struct {
	dir     string
	mountFD int
	layout  *layout
	samples []sample
}

// AddFilesystem learns how the filesystem holding dir (a directory the sensor scans) builds file handles,
// from dir and a few entries in it, and keeps dir open to open handles against. It returns ErrNoLayout
// when the layout cannot be learned: that filesystem's files are then opened by path. Calling it again
// for the same filesystem adds samples. Safe for concurrent use.
func (h *Hasher) AddFilesystem(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	samples := collectSamples(dir, st.Dev)
	h.fsMu.Lock()
	defer h.fsMu.Unlock()
	fs := h.fs[st.Dev]
	if fs == nil {
		fs = &filesystem{dir: dir, mountFD: fd}
		h.fs[st.Dev] = fs
	} else {
		unix.Close(fd)
	}
	return fs.learn(samples...)
}

// learn adds samples not already known (keeping at most maxSamples) and learns the layout again from them all.
func (fs *filesystem) learn(samples ...sample) error {
	for _, s := range samples {
		if !slices.ContainsFunc(fs.samples, func(k sample) bool { return k.ino == s.ino && bytes.Equal(k.handle, s.handle) }) {
			fs.samples = append(fs.samples, s)
		}
	}
	if len(fs.samples) > maxSamples {
		fs.samples = fs.samples[len(fs.samples)-maxSamples:]
	}
	l, err := learnLayout(fs.samples)
	if err != nil {
		return fmt.Errorf("learning the handles of the filesystem at %s: %w", fs.dir, err)
	}
	fs.layout = &l
	return nil
}

// collectSamples takes dir and entries of it on the same filesystem as samples.
func collectSamples(dir string, dev uint64) []sample {
	var out []sample
	if s, ok := sampleOf(dir, dev); ok {
		out = append(out, s)
	}
	entries, _ := os.ReadDir(dir) // a partial listing still gives samples
	for _, e := range entries {
		if len(out) >= maxSamples {
			break
		}
		if !e.Type().IsRegular() && !e.IsDir() {
			continue
		}
		if s, ok := sampleOf(filepath.Join(dir, e.Name()), dev); ok {
			out = append(out, s)
		}
	}
	return out
}

// sampleOf opens path and takes its handle, inode number and (where the filesystem tells) generation.
func sampleOf(path string, dev uint64) (sample, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return sample{}, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Dev != dev {
		return sample{}, false
	}
	return sampleOfFD(fd, &st)
}

// sampleOfFD takes the handle and generation of the file open as fd, whose stat is st.
func sampleOfFD(fd int, st *unix.Stat_t) (sample, bool) {
	fh, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return sample{}, false
	}
	gen, genErr := getVersion(fd)
	return sample{handleType: fh.Type(), handle: fh.Bytes(), ino: st.Ino, gen: gen, genKnown: genErr == nil}, true
}

// learnFrom takes a file opened by path and checked (fd, stat st) as a sample of its filesystem, when
// AddFilesystem was called for it and either its layout is not learned yet and it has room for more
// samples (a scan directory with too few entries), or the handle failed for this very inode (a layout
// learned wrong from too few samples).
func (h *Hasher) learnFrom(fd int, st *unix.Stat_t, handleFailed bool) {
	h.fsMu.Lock()
	defer h.fsMu.Unlock()
	fs := h.fs[st.Dev]
	if fs == nil || !(handleFailed || fs.layout == nil && len(fs.samples) < maxSamples) {
		return
	}
	if s, ok := sampleOfFD(fd, st); ok {
		fs.learn(s) // on failure the layout stays as it was
	}
}

// filesystem returns what is known of dev: its mount descriptor and layout (nil when not learned).
func (h *Hasher) filesystem(dev uint64) (mountFD int, l *layout) {
	h.fsMu.RLock()
	defer h.fsMu.RUnlock()
	if fs := h.fs[dev]; fs != nil {
		return fs.mountFD, fs.layout
	}
	return -1, nil
}

// closeFilesystems closes every mount descriptor.
func (h *Hasher) closeFilesystems() error {
	h.fsMu.Lock()
	defer h.fsMu.Unlock()
	var errs []error
	for dev, fs := range h.fs {
		if err := unix.Close(fs.mountFD); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", fs.dir, err))
		}
		delete(h.fs, dev)
	}
	return errors.Join(errs...)
}
