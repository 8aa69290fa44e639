package main

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"
)

// Test helpers of the forensic commands: a synthetic sensor publishing raw events to FACT_RAW, a
// resolver publishing the live output, a reader of that output, and the command run with its stdout and
// stderr apart.

const (
	simDev    = 0x10303
	simRoot   = 2 // the inode of /srv/mon
	simBoot   = "boot-1"
	simShell  = 4000
	simShellT = 40_000
	dirMode   = 0o040755
	fileMode  = 0o100644
)

// forensicEnv is an embedded JetStream server with FACT_RAW.
type forensicEnv struct {
	srv *natsserver.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	url string
}

func newForensicEnv(t testing.TB) *forensicEnv {
	t.Helper()
	srv := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, srv)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := publish.EnsureRawStream(context.Background(), js, publish.RawStreamConfig{}); err != nil {
		t.Fatal(err)
	}
	return &forensicEnv{srv: srv, nc: nc, js: js, url: srv.ClientURL()}
}

// simHost publishes a host's raw events as its sensor does: numbered, batched per filesystem (process
// events on dev 0), with a message id per batch. Event times are the wall clock, strictly increasing.
type simHost struct {
	t     testing.TB
	js    jetstream.JetStream
	host  string
	seq   uint64
	batch uint64
	last  int64
	acks  []jetstream.PubAckFuture
}

func newSimHost(t testing.TB, js jetstream.JetStream, host string) *simHost {
	return &simHost{t: t, js: js, host: host}
}

func (h *simHost) clock() int64 {
	h.last = max(h.last+1, time.Now().UnixNano())
	return h.last
}

// send publishes evs as one batch of filesystem dev.
func (h *simHost) send(dev uint64, evs ...schemas.RawEvent) {
	h.t.Helper()
	for i := range evs {
		h.seq++
		evs[i].Seq = h.seq
		if evs[i].Time == 0 {
			evs[i].Time = h.clock()
		}
		if evs[i].Probe == 0 {
			evs[i].Probe = schemas.ProbeLSM
		}
		if !evs[i].Kind.Process() {
			evs[i].Dev = dev
		}
	}
	h.batch++
	data, err := schemas.EncodeBatch(nil, &schemas.Batch{Host: h.host, BootID: simBoot, BatchSeq: h.batch, Dev: dev, Events: evs})
	if err != nil {
		h.t.Fatal(err)
	}
	m := &nats.Msg{Subject: schemas.IngestSubject(h.host, dev), Data: data, Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, h.host+":"+simBoot+":"+strconv.FormatUint(h.batch, 10))
	f, err := h.js.PublishMsgAsync(m)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.acks = append(h.acks, f); len(h.acks) >= 256 {
		h.wait()
	}
}

// wait waits for every publish to be stored.
func (h *simHost) wait() {
	h.t.Helper()
	for _, f := range h.acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			h.t.Fatal(err)
		case <-time.After(30 * time.Second):
			h.t.Fatal("no ack from FACT_RAW")
		}
	}
	h.acks = h.acks[:0]
}

// session starts a login shell and scans /srv/mon holding entries.
func (h *simHost) session(entries ...schemas.RawEvent) {
	h.send(0, procEv(schemas.KindFork, simShell, simShellT, "sshd", 1, 1),
		execEv(simShell, simShellT, "/usr/bin/bash", "-bash"))
	scan := []schemas.RawEvent{{Kind: schemas.KindScanBegin, ScanEpoch: 1, Probe: schemas.ProbeScan},
		{Kind: schemas.KindScanEntry, ScanEpoch: 1, Probe: schemas.ProbeScan, Flags: schemas.FlagScanRoot, Ino: simRoot,
			Mode: dirMode, Path: []byte("/srv/mon")}}
	for _, e := range entries {
		e.Kind, e.ScanEpoch, e.Probe, e.Nlink = schemas.KindScanEntry, 1, schemas.ProbeScan, 1
		scan = append(scan, e)
	}
	h.send(simDev, append(scan, schemas.RawEvent{Kind: schemas.KindScanEnd, ScanEpoch: 1, Probe: schemas.ProbeScan})...)
}

// command runs exe as a child of the shell doing evs on simDev.
func (h *simHost) command(pid uint32, exe string, evs ...schemas.RawEvent) {
	start := uint64(pid) * 10
	comm := exe[strings.LastIndexByte(exe, '/')+1:]
	h.send(0, procEv(schemas.KindFork, pid, start, "bash", simShell, simShellT), execEv(pid, start, exe, comm))
	for i := range evs {
		evs[i].Proc = schemas.Process{Pid: pid, Tgid: pid, UID: 1000, GID: 1000, LoginUID: 1000, Comm: []byte(comm), Start: start}
	}
	h.send(simDev, evs...)
	h.send(0, procEv(schemas.KindExit, pid, start, comm, 0, 0))
}

func procEv(k schemas.Kind, pid uint32, start uint64, comm string, ppid uint32, pstart uint64) schemas.RawEvent {
	return schemas.RawEvent{Kind: k, PPid: ppid, ParentStart: pstart,
		Proc: schemas.Process{Pid: pid, Tgid: pid, UID: 1000, GID: 1000, LoginUID: 1000, Comm: []byte(comm), Start: start}}
}

func execEv(pid uint32, start uint64, exe string, args ...string) schemas.RawEvent {
	ev := procEv(schemas.KindExec, pid, start, exe[strings.LastIndexByte(exe, '/')+1:], simShell, simShellT)
	ev.Exe, ev.Cgroup = []byte(exe), []byte("/user.slice/session-1.scope")
	for _, a := range args {
		ev.Args = append(append(ev.Args, a...), 0)
	}
	return ev
}

// fileEv is a file event of kind k on ino, named name in directory parent.
func fileEv(k schemas.Kind, ino, parent uint64, name string, mode uint32) schemas.RawEvent {
	return schemas.RawEvent{Kind: k, Ino: ino, ParentIno: parent, Name: []byte(name), Mode: mode, Nlink: 1,
		Monitored: schemas.MonitoredByParent}
}

// moveEv renames ino from oldParent/oldName to parent/name.
func moveEv(ino, oldParent uint64, oldName string, parent uint64, name string, mode uint32) schemas.RawEvent {
	ev := fileEv(schemas.KindRename, ino, parent, name, mode)
	ev.OldParentIno, ev.OldName, ev.OldMonitored = oldParent, []byte(oldName), schemas.MonitoredByParent
	return ev
}

// linkEv adds the name parent/name to ino, known as oldParent/oldName.
func linkEv(ino, oldParent uint64, oldName string, parent uint64, name string) schemas.RawEvent {
	ev := fileEv(schemas.KindLink, ino, parent, name, fileMode)
	ev.OldParentIno, ev.OldName, ev.OldMonitored = oldParent, []byte(oldName), schemas.MonitoredByParent
	return ev
}

// startLiveResolver runs a resolver worker over FACT_RAW until the test ends.
func startLiveResolver(t testing.TB, env *forensicEnv, worker string) *pipeline.Resolver {
	t.Helper()
	r, err := pipeline.New(pipeline.Config{Conn: env.nc, WorkerID: worker, LeaseTTL: 2 * time.Second,
		DiscoveryInterval: 100 * time.Millisecond, CheckpointInterval: 100 * time.Millisecond,
		Logger: zaptest.NewLogger(t).Named(worker)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = r.Close()
		if err := <-done; err != nil {
			t.Errorf("resolver: %v", err)
		}
	})
	return r
}

// liveLine is one published event: its time and its JSON line.
type liveLine struct {
	time int64
	line []byte
}

// liveOutput reads FACT_ACTIVITY's events as they are published.
type liveOutput struct {
	mu    sync.Mutex
	lines []liveLine
	keep  bool // keep the lines, or only count them
	n     int
	stop  func()
}

func readLive(t testing.TB, js jetstream.JetStream, keep bool, each func(a *schemas.Activity)) *liveOutput {
	t.Helper()
	ctx := context.Background()
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, schemas.ActivityStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{schemas.ActivityPrefix + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	l := &liveOutput{keep: keep}
	var b schemas.ActivityBatch
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if err := schemas.DecodeActivityBatch(m.Data(), &b); err != nil {
			t.Errorf("undecodable output: %v", err)
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for i := range b.Events {
			if each != nil {
				each(&b.Events[i])
			}
			if l.keep {
				l.lines = append(l.lines, liveLine{b.Events[i].Time, schemas.AppendActivityJSON(nil, &b.Events[i])})
			}
			l.n++
		}
	}, jetstream.PullMaxMessages(512))
	if err != nil {
		t.Fatal(err)
	}
	l.stop = cc.Stop
	t.Cleanup(cc.Stop)
	return l
}

func (l *liveOutput) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// waitFor waits until want events have come, and a moment more for any surplus.
func (l *liveOutput) waitFor(t testing.TB, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for l.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d events published after %s, want %d", l.count(), within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := l.count(); n != want {
		t.Fatalf("%d events published, want %d", n, want)
	}
}

// between returns the JSON lines of the events in [from, to], in time order, one per line.
func (l *liveOutput) between(from, to time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sel []liveLine
	for _, ll := range l.lines {
		if ll.time >= from.UnixNano() && ll.time <= to.UnixNano() {
			sel = append(sel, ll)
		}
	}
	slices.SortStableFunc(sel, func(a, b liveLine) int { return cmp.Compare(a.time, b.time) })
	var b bytes.Buffer
	for _, ll := range sel {
		b.Write(ll.line)
		b.WriteByte('\n')
	}
	return b.String()
}

// runCmd runs the command line in-process with stdout to out and returns stderr.
func runCmd(ctx context.Context, out io.Writer, args ...string) (string, error) {
	cmd := newRootCmd()
	var errOut strings.Builder
	cmd.SetOut(out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return errOut.String(), err
}
