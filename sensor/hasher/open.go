package hasher

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// openFlags open a file to hash: read-only, never a terminal, never blocking on a FIFO (it is refused
// after fstat anyway), without touching its access time.
const openFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_NOATIME

// unreadable is why a file could not be opened as the request's inode; it becomes a Result's Reason.
type unreadable struct {
	reason string
	err    error // the system call's, where there is one
}

func (u *unreadable) Error() string { return u.reason }

func (u *unreadable) Unwrap() error { return u.err }

// opened is a file opened as the request's inode, with its stat from just after the open.
type opened struct {
	fd       int
	st       unix.Stat_t
	byHandle bool
}

// open opens the request's inode: by handle where its filesystem's layout is known, else (or when the
// handle fails) by path, then checks it is that inode. The error is an *unreadable.
func (h *Hasher) open(req Request) (opened, error) {
	mountFD, l := h.filesystem(req.ID.Dev)
	var handleErr error
	if l != nil && !(req.GenUnknown && req.Path != "") {
		if b, ok := l.build(req.ID.Ino, req.ID.Gen); ok {
			fd, err := openRetryNoatime(func(flags int) (int, error) {
				return unix.OpenByHandleAt(mountFD, unix.NewFileHandle(l.handleType, b), flags)
			})
			if err == nil {
				return h.check(fd, req, l, true)
			}
			handleErr = fmt.Errorf("opening by handle: %w", err)
		} else {
			handleErr = fmt.Errorf("inode %d does not fit the filesystem's handles", req.ID.Ino)
		}
	}
	if req.Path == "" {
		if handleErr == nil {
			return opened{}, &unreadable{reason: "no handle layout for the filesystem and no path"}
		}
		return opened{}, &unreadable{reason: handleErr.Error() + ", and no path"}
	}
	fd, err := openRetryNoatime(func(flags int) (int, error) {
		return unix.Open(req.Path, flags|unix.O_NOFOLLOW, 0)
	})
	if err != nil {
		return opened{}, &unreadable{reason: fmt.Sprintf("opening %s: %v", req.Path, err), err: err}
	}
	o, err := h.check(fd, req, l, false)
	if err == nil {
		// A stale handle for an inode the path shows alive means the layout was learned wrong (EPERM,
		// no CAP_DAC_READ_SEARCH, says nothing about it).
		h.learnFrom(o.fd, &o.st, errors.Is(handleErr, unix.ESTALE))
	}
	return o, err
}

// openRetryNoatime opens with openFlags, and without O_NOATIME where it is refused (a file the process
// does not own, without CAP_FOWNER).
func openRetryNoatime(open func(flags int) (int, error)) (int, error) {
	fd, err := open(openFlags)
	if errors.Is(err, unix.EPERM) {
		fd, err = open(openFlags &^ unix.O_NOATIME)
	}
	return fd, err
}

// check fstats fd and confirms it is a regular file with the request's identity: dev and inode number,
// and the generation where the filesystem tells it (FS_IOC_GETVERSION, or the generation word of the
// file's own handle) and the request knows it. A handle opened by the kernel has had its generation
// checked already. It closes fd on failure.
func (h *Hasher) check(fd int, req Request, l *layout, byHandle bool) (opened, error) {
	id := req.ID
	o := opened{fd: fd, byHandle: byHandle}
	fail := func(reason string) (opened, error) {
		unix.Close(fd)
		return opened{}, &unreadable{reason: reason}
	}
	if err := unix.Fstat(fd, &o.st); err != nil {
		return fail(fmt.Sprintf("fstat: %v", err))
	}
	if o.st.Dev != id.Dev || o.st.Ino != id.Ino {
		return fail("inode reused")
	}
	if !req.GenUnknown {
		if gen, ok := generation(fd, l); ok && gen != id.Gen {
			return fail("inode reused")
		}
	}
	if o.st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail(fmt.Sprintf("not a regular file (mode %#o)", o.st.Mode))
	}
	return o, nil
}

// generation reads fd's generation by FS_IOC_GETVERSION, else from its handle by the layout l.
func generation(fd int, l *layout) (uint32, bool) {
	if gen, err := getVersion(fd); err == nil {
		return gen, true
	}
	if l == nil {
		return 0, false
	}
	fh, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return 0, false
	}
	return l.generation(fh.Type(), fh.Bytes())
}
