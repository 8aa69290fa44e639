package sensor

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/factstream/factstream/schemas"
	"golang.org/x/sys/unix"
)

func TestParseMountLine(t *testing.T) {
	tests := []struct {
		line    string
		id      uint32
		point   string
		wantErr bool
	}{
		{line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue", id: 36, point: "/mnt2"},
		{line: `41 29 0:38 / /srv/with\040space rw - tmpfs tmpfs rw`, id: 41, point: "/srv/with space"},
		{line: `42 29 0:38 /mon /srv/back\134slash\012nl rw - tmpfs tmpfs rw`, id: 42, point: "/srv/back\\slash\nnl"},
		{line: `43 29 0:38 / /srv/odd\9x\04 rw - tmpfs tmpfs rw`, id: 43, point: `/srv/odd\9x\04`},
		{line: "45 29 0:38 / /srv/nb\u00a0sp rw - tmpfs tmpfs rw", id: 45, point: "/srv/nb\u00a0sp"},
		{line: "44 29 0:38 /", wantErr: true},
		{line: "x 29 0:38 / /a rw - tmpfs tmpfs rw", wantErr: true},
		{line: "", wantErr: true},
	}
	for _, tt := range tests {
		id, point, err := parseMountLine([]byte(tt.line))
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseMountLine(%q) = %d, %q, want an error", tt.line, id, point)
			}
			continue
		}
		if err != nil || id != tt.id || point != tt.point {
			t.Errorf("parseMountLine(%q) = %d, %q, %v; want %d, %q", tt.line, id, point, err, tt.id, tt.point)
		}
	}
}

func FuzzParseMountLine(f *testing.F) {
	f.Add([]byte(`41 29 0:38 / /srv/with\040space rw - tmpfs tmpfs rw`))
	f.Add([]byte(`1 2 3 4 \\\1`))
	f.Fuzz(func(t *testing.T, line []byte) {
		id, point, err := parseMountLine(line)
		if err != nil {
			return
		}
		if len(point) > len(line) {
			t.Fatalf("mount point %q of line %q is longer than the line", point, line)
		}
		if first := strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' })[0]; strconv.FormatUint(uint64(id), 10) != strings.TrimLeft(first, "0") && id != 0 {
			t.Fatalf("mount id %d does not come from the first field %q of line %q", id, first, line)
		}
	})
}

func TestMountsBelow(t *testing.T) {
	table := strings.Join([]string{
		"20 1 8:1 / / rw - ext4 /dev/sda1 rw",
		"21 20 0:30 / /srv/mon/tmp rw - tmpfs tmpfs rw",
		"22 20 0:31 / /srv/monitor rw - tmpfs tmpfs rw",
		"23 20 8:1 /srv/mon /mnt/m rw - ext4 /dev/sda1 rw",
		"24 20 0:32 / /srv/mon rw - tmpfs tmpfs rw",
	}, "\n")
	got, err := mountsBelow(strings.NewReader(table), []string{"/srv/mon"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{21, 24}; !slices.Equal(got, want) {
		t.Errorf("mounts below /srv/mon = %v, want %v (a bind mount elsewhere and a sibling with a longer name are not)", got, want)
	}
	if _, err := mountsBelow(strings.NewReader("bad"), []string{"/"}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a bad table gave %v, want an error naming line 1", err)
	}
}

// TestMonitoredMounts reads this machine's own table: a root's mount is in the set, whether the root
// exists or not yet.
func TestMonitoredMounts(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_MNT_ID, &st); err != nil || st.Mask&unix.STATX_MNT_ID == 0 {
		t.Skipf("statx gives no mount id here (%v)", err)
	}
	for _, root := range []string{dir, filepath.Join(dir, "not", "yet")} {
		ids, err := monitoredMounts([]string{root}, "/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ids, uint32(st.Mnt_id)) {
			t.Errorf("monitored mounts of %s = %v, want it to hold %d, the mount %s lives on", root, ids, st.Mnt_id, dir)
		}
	}
	if _, err := monitoredMounts([]string{dir}, filepath.Join(dir, "no-such-table")); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing mount table gave %v, want a not-exist error", err)
	}
}

func TestMovedIn(t *testing.T) {
	dir, file := uint32(unix.S_IFDIR|0o755), uint32(unix.S_IFREG|0o644)
	in, by, out := schemas.MonitoredByParent, schemas.MonitoredByPath, schemas.NotMonitored
	tests := []struct {
		name     string
		mode     uint32
		new, old schemas.Monitored
		exchange bool
		want     bool
	}{
		{"a directory moved in", dir, in, out, false, true},
		{"a directory moved in where a prefix matches", dir, by, out, false, true},
		{"a file moved in", file, in, out, false, false},
		{"a directory moved within", dir, in, schemas.MonitoredByInode, false, false},
		{"a directory moved out", dir, out, in, false, false},
		{"exchanged across the edge", 0, out, schemas.MonitoredByInode, true, true},
		{"exchanged within", 0, in, schemas.MonitoredByInode, true, false},
	}
	for _, tt := range tests {
		ev := schemas.RawEvent{Kind: schemas.KindRename, Mode: tt.mode, Monitored: tt.new, OldMonitored: tt.old}
		if tt.exchange {
			ev.Flags = schemas.FlagRenameExchange
		}
		if got := movedIn(&ev); got != tt.want {
			t.Errorf("%s: movedIn = %v, want %v", tt.name, got, tt.want)
		}
	}
	if movedIn(&schemas.RawEvent{Kind: schemas.KindLink, Mode: dir, Monitored: in}) {
		t.Error("a link counts as a move in")
	}
}
