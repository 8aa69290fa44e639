package sensor

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/factstream/factstream/glob"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// applyMounts tells the probes which mounts the monitored roots live on, so that a file reached through
// another mount (a bind mount of a monitored directory) is reported with the path the process named. When
// the host's filesystem is seen under HostRoot the sensor's own mounts are not the host's, and every mount
// counts as a monitored one.
func (s *Sensor) applyMounts(set *glob.Set) {
	var ids []uint32
	var err error
	if s.cfg.HostRoot == "" || s.cfg.HostRoot == "/" {
		ids, err = monitoredMounts(set.Roots(), "/proc/self/mountinfo")
	}
	if err == nil {
		err = s.kernel.SetMounts(ids)
	}
	if err != nil {
		s.log.Warn("naming the monitored mounts; files reached through a bind mount are reported with their host path only",
			zap.Error(err))
		if err := s.kernel.SetMounts(nil); err != nil {
			s.log.Warn("clearing the monitored mounts", zap.Error(err))
		}
	}
}

// monitoredMounts returns the ids of the mounts the roots live on (of each root's nearest existing
// directory) and of every mount whose mount point is at or below a root, as mountinfo lists them.
func monitoredMounts(roots []string, mountinfo string) ([]uint32, error) {
	var ids []uint32
	for _, root := range roots {
		id, err := mountOf(root)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("reading the mount table: %w", err)
	}
	defer f.Close()
	below, err := mountsBelow(f, roots)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", mountinfo, err)
	}
	ids = append(ids, below...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// mountOf returns the id of the mount path lives on, or of its nearest existing ancestor's.
func mountOf(path string) (uint32, error) {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		var st unix.Statx_t
		err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st)
		if err == nil {
			if st.Mask&unix.STATX_MNT_ID == 0 {
				return 0, fmt.Errorf("statx %q: the kernel gives no mount id", p)
			}
			return uint32(st.Mnt_id), nil
		}
		if p == "/" {
			return 0, fmt.Errorf("statx %q: %w", p, err)
		}
	}
}

// mountsBelow returns the ids of the mounts in a mountinfo table whose mount point is at or below a root.
func mountsBelow(r io.Reader, roots []string) ([]uint32, error) {
	var ids []uint32
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		id, point, err := parseMountLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		for _, root := range roots {
			if glob.Under(point, root) {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids, sc.Err()
}

// parseMountLine reads the mount id (field 1) and the mount point (field 5, octal-escaped) of a mountinfo
// line (proc(5)).
func parseMountLine(line []byte) (uint32, string, error) {
	f := bytes.FieldsFunc(line, func(r rune) bool { return r == ' ' }) // only ' ' separates: a name may hold U+00A0
	if len(f) < 5 {
		return 0, "", fmt.Errorf("mountinfo line has %d fields, want at least 5: %q", len(f), line)
	}
	id, err := strconv.ParseUint(string(f[0]), 10, 32)
	if err != nil {
		return 0, "", fmt.Errorf("mountinfo mount id %q: %w", f[0], err)
	}
	return uint32(id), unescapeOctal(f[4]), nil
}

// unescapeOctal undoes the kernel's escaping of space, tab, newline and backslash in mountinfo paths
// (\040, \011, \012, \134); any other byte sequence is kept as it is.
func unescapeOctal(b []byte) string {
	if !bytes.ContainsRune(b, '\\') {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && isOctal(b[i+1:i+4]) {
			v, _ := strconv.ParseUint(string(b[i+1:i+4]), 8, 8)
			out = append(out, byte(v))
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func isOctal(b []byte) bool {
	if len(b) != 3 || b[0] > '3' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}
