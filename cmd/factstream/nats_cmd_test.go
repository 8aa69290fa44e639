package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// TestTailFiltersAndOrders publishes enriched batches as a resolver would (per host and type, a commit
// ended by a checkpoint) and runs `tail --json --since all` with filters: it prints what passes them, a
// commit's events in time order, and events of a commit whose checkpoint never comes.
func TestTailFiltersAndOrders(t *testing.T) {
	srv := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, srv)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC).UnixNano()
	ev := func(host, typ, path string, dt int64) schemas.Activity {
		return schemas.Activity{Time: t0 + dt, Host: host, Type: typ, Path: []byte(path), HostPath: []byte(path), Probe: 2,
			Monitored: 2, Process: schemas.ActivityProcess{Pid: 1, Comm: []byte("sh")}}
	}
	publish := func(evs ...schemas.Activity) {
		t.Helper()
		b := schemas.ActivityBatch{Host: evs[0].Host, Type: evs[0].Type, Events: evs}
		if _, err := js.Publish(ctx, schemas.ActivitySubject(b.Host, b.Type), schemas.EncodeActivityBatch(nil, &b)); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint := func() {
		t.Helper()
		if _, err := js.Publish(ctx, schemas.CheckpointSubject(3), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	// One commit: the creation's message comes first, the mkdirs are earlier in time.
	publish(ev("web-1", "creation", "/srv/mon/x/f", 3))
	publish(ev("web-1", "mkdir", "/srv/mon/x", 1), ev("web-1", "mkdir", "/srv/other/y", 2))
	publish(ev("web-2", "mkdir", "/srv/mon/z", 2))
	checkpoint()
	// A commit without its checkpoint (yet).
	publish(ev("web-1", "unlink", "/srv/mon/x/f", 10))

	url := srv.ClientURL()
	run := func(args ...string) []string {
		t.Helper()
		// tail runs until its context ends: long enough to connect, read and flush the commit that has no
		// checkpoint (200ms) on a machine busy with other tests.
		rctx, rcancel := context.WithTimeout(ctx, 2500*time.Millisecond)
		defer rcancel()
		out, err := execute(rctx, append([]string{"tail", "--nats", url, "--log-level", "error"}, args...)...)
		if err != nil {
			t.Fatalf("tail %q: %v", args, err)
		}
		var paths []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			if !strings.HasPrefix(l, `{"time":`) {
				t.Fatalf("not a JSON line: %q", l)
			}
			typ := l[strings.Index(l, `"type":"`)+8:]
			path := l[strings.Index(l, `"path":"`)+8:]
			paths = append(paths, typ[:strings.IndexByte(typ, '"')]+" "+path[:strings.IndexByte(path, '"')])
		}
		return paths
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--since", "all"}, []string{"mkdir /srv/mon/x", "mkdir /srv/other/y", "mkdir /srv/mon/z", "creation /srv/mon/x/f", "unlink /srv/mon/x/f"}},
		{[]string{"--since", "all", "--host", "web-1", "--type", "mkdir", "--type", "unlink"}, []string{"mkdir /srv/mon/x", "mkdir /srv/other/y", "unlink /srv/mon/x/f"}},
		{[]string{"--since", "all", "--path", "/srv/mon/**"}, []string{"mkdir /srv/mon/x", "mkdir /srv/mon/z", "creation /srv/mon/x/f", "unlink /srv/mon/x/f"}},
		{[]string{"--since", "all", "--path", "/srv/*/y", "--json=true"}, []string{"mkdir /srv/other/y"}},
		{[]string{"--since", "seq:5"}, []string{"unlink /srv/mon/x/f"}}, // after the checkpoint, sequence 4
		{nil, nil}, // new events only
	}
	for _, tt := range tests {
		if got := run(tt.args...); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("tail %q:\n got %q\nwant %q", tt.args, got, tt.want)
		}
	}
}

// TestResolverCommand runs `factstream resolver` against a server: it provisions what it needs and
// stops cleanly when its context ends.
func TestResolverCommand(t *testing.T) {
	srv := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, srv)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := execute(ctx, "resolver", "--nats", srv.ClientURL(), "--log-level", "error", "--partitions", "4")
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := js.Stream(context.Background(), schemas.ActivityStream); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the resolver did not create " + schemas.ActivityStream)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("resolver: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("resolver did not stop")
	}
}
