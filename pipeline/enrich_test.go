package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// The rows of BEHAVIOUR.md's example table, with /srv/mon/** and /srv/mon monitored and /srv/other not,
// built from the raw events a sensor sends for them and read through a hostView, as a resolver does.

const (
	srvMon   = 10 // /srv/mon, the scan root
	srvOther = 50 // /srv/other, not tracked
	aTxt     = 20 // /srv/mon/a.txt when it exists
	shellPid = 1000
	shellSt  = 10_000
	sshdPid  = 900
	sshdSt   = 9_000
)

var containerID = strings.Repeat("4f3c2b1a", 8)

// session starts sshd and a login shell, and scans /srv/mon holding the given files.
func session(s *sensorSim, files ...schemas.RawEvent) {
	s.emitAll(
		eventtest.Fork(sshdPid, sshdSt, "sshd", 1, 1),
		eventtest.Exec(sshdPid, sshdSt, "/usr/sbin/sshd", []string{"sshd", "-D"}, "/system.slice/ssh.service"),
		eventtest.Fork(shellPid, shellSt, "sshd", sshdPid, sshdSt),
		eventtest.Exec(shellPid, shellSt, "/usr/bin/bash", []string{"-bash"}, "/user.slice/session-1.scope"),
	)
	scan := []schemas.RawEvent{eventtest.ScanBegin(1), eventtest.ScanRoot(1, srvMon, "/srv/mon")}
	scan = append(scan, files...)
	s.emitAll(append(scan, eventtest.ScanEnd(1))...)
}

// command runs exe as a child of the shell doing evs, as the sensor reports it.
func command(s *sensorSim, pid uint32, exe string, args []string, evs ...schemas.RawEvent) {
	start := uint64(pid) * 10
	comm := exe[strings.LastIndexByte(exe, '/')+1:]
	all := []schemas.RawEvent{eventtest.Fork(pid, start, "bash", shellPid, shellSt),
		eventtest.Exec(pid, start, exe, args, "/user.slice/session-1.scope")}
	for _, ev := range evs {
		all = append(all, by(ev, pid, start, comm))
	}
	s.emitAll(append(all, eventtest.Exit(pid, start, comm))...)
}

func byPath(ev schemas.RawEvent, path string) schemas.RawEvent {
	ev.Monitored, ev.Path = schemas.MonitoredByPath, []byte(path)
	return ev
}

// describe is the part of an event the table speaks of.
func describe(a *schemas.Activity) string {
	s := a.Type + " " + string(a.Path)
	if string(a.HostPath) != string(a.Path) {
		s += " host=" + string(a.HostPath)
	}
	if a.Type == "rename" {
		s += fmt.Sprintf(" old=%s old.host=%s", a.OldPath, a.OldHostPath)
	}
	if a.Type == "link" {
		s += " target=" + string(a.Target)
	}
	if a.Type == "permission" {
		s += fmt.Sprintf(" mode=%#o", a.Mode&0o7777)
	}
	return s
}

func TestBehaviourTable(t *testing.T) {
	existing := eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode)
	tests := []struct {
		name  string
		files []schemas.RawEvent // in the scan besides /srv/mon
		do    func(s *sensorSim)
		want  []string
		check func(t *testing.T, acts []schemas.Activity)
	}{
		{"echo hi > /srv/mon/a.txt (new file)", nil, func(s *sensorSim) {
			s.emitAll(by(eventtest.Create(30, srvMon, "a.txt"), shellPid, shellSt, "bash"))
		}, []string{"creation /srv/mon/a.txt"}, checkShell},
		{"echo more >> /srv/mon/a.txt", []schemas.RawEvent{existing}, func(s *sensorSim) {
			ev := by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash")
			ev.Monitored = schemas.MonitoredByInode
			s.emitAll(ev)
		}, []string{"open /srv/mon/a.txt"}, checkShell},
		{"cat /srv/mon/a.txt", []schemas.RawEvent{existing}, func(s *sensorSim) {
			command(s, 2001, "/usr/bin/cat", []string{"cat", "/srv/mon/a.txt"})
		}, nil, nil},
		{"mkdir -p /srv/mon/x/y/z && touch /srv/mon/x/y/z/f", nil, func(s *sensorSim) {
			command(s, 2002, "/usr/bin/mkdir", []string{"mkdir", "-p", "/srv/mon/x/y/z"},
				eventtest.Mkdir(40, srvMon, "x"), eventtest.Mkdir(41, 40, "y"), eventtest.Mkdir(42, 41, "z"))
			command(s, 2003, "/usr/bin/touch", []string{"touch", "/srv/mon/x/y/z/f"}, eventtest.Create(43, 42, "f"))
		}, []string{"mkdir /srv/mon/x", "mkdir /srv/mon/x/y", "mkdir /srv/mon/x/y/z", "creation /srv/mon/x/y/z/f"},
			func(t *testing.T, acts []schemas.Activity) {
				p := acts[3].Process
				if string(p.Exe) != "/usr/bin/touch" || len(p.Args) != 2 || string(p.Args[1]) != "/srv/mon/x/y/z/f" ||
					p.Pid != 2003 || len(p.Lineage) < 2 || p.Lineage[0].Pid != shellPid || p.Lineage[1].Pid != sshdPid {
					t.Fatalf("touch: %+v", p)
				}
			}},
		{"mkdir /srv/other/d && touch /srv/other/d/f", nil, func(s *sensorSim) {
			// A sensor does not report these; should it (matched by a prefix), the patterns drop them.
			command(s, 2004, "/usr/bin/mkdir", []string{"mkdir", "/srv/other/d"}, byPath(eventtest.Mkdir(51, srvOther, "d"), "/srv/other/d"))
			command(s, 2005, "/usr/bin/touch", []string{"touch", "/srv/other/d/f"}, byPath(eventtest.Create(52, 51, "f"), "/srv/other/d/f"))
		}, nil, nil},
		{"mv /srv/other/f /srv/mon/f", nil, func(s *sensorSim) {
			ev := eventtest.Rename(60, srvOther, "f", srvMon, "f", eventtest.FileMode)
			ev.OldPath = []byte("/srv/other/f") // the kernel carries the untracked side's path
			command(s, 2006, "/usr/bin/mv", []string{"mv", "/srv/other/f", "/srv/mon/f"}, ev)
		}, []string{"rename /srv/mon/f old=/srv/other/f old.host="}, nil},
		{"mv /srv/mon/f /srv/other/f", []schemas.RawEvent{eventtest.ScanEntry(1, 61, srvMon, "f", eventtest.FileMode)}, func(s *sensorSim) {
			ev := eventtest.Rename(61, srvMon, "f", srvOther, "f", eventtest.FileMode)
			ev.Monitored, ev.OldMonitored = schemas.NotMonitored, schemas.MonitoredByParent
			ev.Path, ev.Flags = []byte("/srv/other/f"), schemas.FlagPathOutside
			command(s, 2007, "/usr/bin/mv", []string{"mv", "/srv/mon/f", "/srv/other/f"}, ev)
		}, []string{"rename /srv/other/f host= old=/srv/mon/f old.host=/srv/mon/f"}, nil},
		{"mv --exchange /srv/mon/a.txt /srv/other/b", []schemas.RawEvent{existing}, func(s *sensorSim) {
			ev := eventtest.Rename(aTxt, srvMon, "a.txt", srvOther, "b", eventtest.FileMode)
			ev.Monitored, ev.OldMonitored, ev.TargetIno = schemas.NotMonitored, schemas.MonitoredByInode, 80
			ev.Path, ev.Flags = []byte("/srv/other/b"), schemas.FlagPathOutside|schemas.FlagRenameExchange
			command(s, 2013, "/usr/bin/mv", []string{"mv", "--exchange", "/srv/mon/a.txt", "/srv/other/b"}, ev)
		}, []string{"rename /srv/other/b host= old=/srv/mon/a.txt old.host=/srv/mon/a.txt",
			"rename /srv/mon/a.txt old=/srv/other/b old.host="}, nil},
		{"ln /srv/other/h /srv/mon/h", nil, func(s *sensorSim) {
			ev := eventtest.FileEvent(schemas.KindLink, 81, srvMon, "h")
			ev.OldParentIno, ev.OldName, ev.OldPath, ev.Mode = srvOther, []byte("h"), []byte("/srv/other/h"), eventtest.FileMode
			command(s, 2014, "/usr/bin/ln", []string{"ln", "/srv/other/h", "/srv/mon/h"}, ev)
		}, []string{"link /srv/mon/h target=/srv/other/h"}, nil},
		{"/srv/mon bind-mounted at /mnt/m on the host; echo x >> /mnt/m/a.txt", []schemas.RawEvent{existing}, func(s *sensorSim) {
			ev := by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash")
			ev.Monitored, ev.Path, ev.Flags = schemas.MonitoredByInode, []byte("/mnt/m/a.txt"), schemas.FlagProcessView
			s.emitAll(ev)
		}, []string{"open /mnt/m/a.txt host=/srv/mon/a.txt"}, nil},
		{"chmod 600 /srv/mon/a.txt", []schemas.RawEvent{existing}, func(s *sensorSim) {
			ev := eventtest.FileEvent(schemas.KindPermission, aTxt, srvMon, "a.txt")
			ev.Mode, ev.OldMode, ev.Monitored = 0o100600, 0o100644, schemas.MonitoredByInode
			command(s, 2008, "/usr/bin/chmod", []string{"chmod", "600", "/srv/mon/a.txt"}, ev)
		}, []string{"permission /srv/mon/a.txt mode=0600"}, nil},
		{"rm /srv/mon/a.txt", []schemas.RawEvent{existing}, func(s *sensorSim) {
			command(s, 2009, "/usr/bin/rm", []string{"rm", "/srv/mon/a.txt"}, eventtest.Unlink(aTxt, srvMon, "a.txt", 1))
		}, []string{"unlink /srv/mon/a.txt"}, nil},
		{"a container with /srv/mon at /data writes /data/a.txt", []schemas.RawEvent{existing}, func(s *sensorSim) {
			cg := "/system.slice/docker-" + containerID + ".scope"
			ev := eventtest.Open(aTxt, srvMon, "a.txt")
			ev.Monitored, ev.Path, ev.Flags = schemas.MonitoredByInode, []byte("/data/a.txt"), schemas.FlagProcessView
			s.emitAll(eventtest.Fork(3000, 30_000, "containerd-shim", 1, 1),
				eventtest.Exec(3000, 30_000, "/bin/sh", []string{"sh", "-c", "echo x >> /data/a.txt"}, cg),
				by(ev, 3000, 30_000, "sh"))
		}, []string{"open /data/a.txt host=/srv/mon/a.txt"}, func(t *testing.T, acts []schemas.Activity) {
			if acts[0].Process.ContainerID != containerID || string(acts[0].Process.Exe) != "/bin/sh" {
				t.Fatalf("container process %+v", acts[0].Process)
			}
		}},
		{"mkdir /srv/mon/d; mv /srv/mon/d /srv/mon/e; touch /srv/mon/e/f", nil, func(s *sensorSim) {
			command(s, 2010, "/usr/bin/mkdir", []string{"mkdir", "/srv/mon/d"}, eventtest.Mkdir(70, srvMon, "d"))
			command(s, 2011, "/usr/bin/mv", []string{"mv", "/srv/mon/d", "/srv/mon/e"}, eventtest.Rename(70, srvMon, "d", srvMon, "e", eventtest.DirMode))
			command(s, 2012, "/usr/bin/touch", []string{"touch", "/srv/mon/e/f"}, eventtest.Create(71, 70, "f"))
		}, []string{"mkdir /srv/mon/d", "rename /srv/mon/e old=/srv/mon/d old.host=/srv/mon/d", "creation /srv/mon/e/f"}, nil},
	}
	pats, err := NewPatterns([]string{"/srv/mon/**", "/srv/mon"}, nil)
	ptrTB(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acts := runView(t, pats, func(s *sensorSim) {
				session(s, tt.files...)
				tt.do(s)
			})
			var got []string
			for i := range acts {
				got = append(got, describe(&acts[i]))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.check != nil {
				tt.check(t, acts)
			}
		})
	}
}

// runView feeds the messages of a simulated sensor to one hostView and returns what it releases.
func runView(t *testing.T, pats *Patterns, do func(s *sensorSim)) []schemas.Activity {
	t.Helper()
	s := newSensorSim("node-1", 1)
	do(s)
	var c collector
	v := newHostView(&viewConfig{partitions: 1, lateness: 500 * msPerMsg, maxHeld: 1 << 16, patterns: pats}, "node-1", &c, &viewStats{})
	for _, m := range s.msgs {
		v.receive(m)
	}
	v.release(true)
	if len(c.dead) > 0 {
		t.Fatalf("dead letters: %v", c.dead[0].reason)
	}
	return c.acts
}

func checkShell(t *testing.T, acts []schemas.Activity) {
	p := acts[0].Process
	if p.Pid != shellPid || string(p.Comm) != "bash" || string(p.Exe) != "/usr/bin/bash" || len(p.Args) != 1 ||
		p.UID != 1000 || p.LoginUID != 1000 || p.ContainerID != "" || len(p.Lineage) != 2 ||
		string(p.Lineage[0].Exe) != "/usr/sbin/sshd" || p.Lineage[1].Pid != 1 {
		t.Fatalf("shell process %+v", p)
	}
}

func TestPatternsScope(t *testing.T) {
	pats, err := NewPatterns([]string{"/srv/app/*.conf"}, map[string][]string{"other": {"/etc/**"}})
	ptrTB(t, err)
	for path, want := range map[string]bool{"/srv/app/x.conf": true, "/srv/app/x.txt": false, "/srv/app/sub/y.conf": false, "/srv/app": false} {
		if got := pats.Match("node-1", []byte(path)); got != want {
			t.Errorf("%s: got %v", path, got)
		}
	}
	if !pats.Match("other", []byte("/etc/a/b")) || pats.Match("other", []byte("/srv/app/x.conf")) {
		t.Error("per-host patterns do not replace the global ones")
	}
	if _, err := NewPatterns([]string{"relative/*"}, nil); err == nil {
		t.Error("a relative pattern was accepted")
	}
	acts := runView(t, pats, func(s *sensorSim) {
		s.emitAll(eventtest.ScanBegin(1), eventtest.ScanRoot(1, 5, "/srv/app"), eventtest.ScanEnd(1))
		s.emitAll(eventtest.Create(6, 5, "x.conf"), eventtest.Create(7, 5, "x.txt"), eventtest.Mkdir(8, 5, "sub"), eventtest.Create(9, 8, "y.conf"))
	})
	if len(acts) != 1 || string(acts[0].HostPath) != "/srv/app/x.conf" {
		t.Fatalf("got %v", acts)
	}
}

func TestContainerID(t *testing.T) {
	id := containerID
	for cg, want := range map[string]string{
		"/system.slice/docker-" + id + ".scope": id,
		"docker-" + id + ".scope":               id,
		"/docker/" + id:                         id,
		"/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + id + ".scope": id,
		"/machine.slice/libpod-" + id + ".scope":                              id,
		"/machine.slice/libpod-conmon-" + id + ".scope":                       "",
		"/kubepods/besteffort/pod123/" + id:                                   id,
		"crio-" + id + ".scope":                                               id,
		"/user.slice/session-1.scope":                                         "",
		"/docker/" + id[:12]:                                                  "",
		"":                                                                    "",
	} {
		if got := ContainerID([]byte(cg)); got != want {
			t.Errorf("%s: got %q, want %q", cg, got, want)
		}
	}
}

// TestExecAfterFileEvent: the exec that follows a file event (same process) is stored first; the event
// still gets the image it ran with.
func TestExecAfterFileEvent(t *testing.T) {
	s := newSensorSim("node-1", 1)
	session(s)
	evs := []schemas.RawEvent{by(eventtest.Create(30, srvMon, "a"), shellPid, shellSt, "bash"),
		eventtest.Exec(shellPid, shellSt, "/usr/bin/vim", []string{"vim"}, "")}
	s.number(evs)
	s.publish(0, evs[1:])
	s.publish(testDev, evs[:1])
	var c collector
	v := newHostView(&viewConfig{partitions: 1, lateness: 500 * msPerMsg, maxHeld: 1 << 16}, "node-1", &c, &viewStats{})
	for _, m := range s.msgs {
		v.receive(m)
	}
	v.release(true)
	if len(c.acts) != 1 || string(c.acts[0].Process.Exe) != "/usr/bin/bash" {
		t.Fatalf("got %+v", c.acts)
	}
}

// TestLateProcessEvents: a file message stored before the exec of its process waits for it.
func TestLateProcessEvents(t *testing.T) {
	s := newSensorSim("node-1", 1)
	session(s)
	evs := []schemas.RawEvent{eventtest.Fork(2000, 20_000, "bash", shellPid, shellSt),
		eventtest.Exec(2000, 20_000, "/usr/bin/touch", []string{"touch", "a"}, ""),
		by(eventtest.Create(30, srvMon, "a"), 2000, 20_000, "touch"), eventtest.Exit(2000, 20_000, "touch")}
	s.number(evs)
	s.publish(testDev, evs[2:3])
	s.publish(0, []schemas.RawEvent{evs[0], evs[1], evs[3]})
	var c collector
	v := newHostView(&viewConfig{partitions: 1, lateness: 500 * msPerMsg, maxHeld: 1 << 16}, "node-1", &c, &viewStats{})
	for i, m := range s.msgs {
		v.receive(m)
		if i == len(s.msgs)-2 && len(c.acts) != 0 {
			t.Fatal("released before its process events came")
		}
	}
	if len(c.acts) != 1 || string(c.acts[0].Process.Exe) != "/usr/bin/touch" {
		t.Fatalf("got %+v", c.acts)
	}
}
