package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// testFlush is the tests' FlushAfter: short, so that a commit without its checkpoint comes soon.
const testFlush = 50 * time.Millisecond

var t0 = time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC).UnixNano()

// ev is an event of host and type on path at t0+dt.
func ev(host, typ, path string, dt int64) schemas.Activity {
	return schemas.Activity{Time: t0 + dt, Host: host, Type: typ, Path: []byte(path), HostPath: []byte(path),
		Probe: 2, Monitored: 2, Process: schemas.ActivityProcess{Pid: 1, Comm: []byte("sh")}}
}

// stream is FACT_ACTIVITY on a test server, with the messages a resolver would publish.
type stream struct {
	t   testing.TB
	js  jetstream.JetStream
	ctx context.Context
}

func newStream(t testing.TB) *stream {
	t.Helper()
	srv := natsservertest.RunServer(t)
	js, err := jetstream.New(natsservertest.Connect(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	return &stream{t: t, js: js, ctx: ctx}
}

// publish publishes one message, a batch of one host and type, and returns its sequence.
func (s *stream) publish(evs ...schemas.Activity) uint64 {
	s.t.Helper()
	b := schemas.ActivityBatch{Host: evs[0].Host, Type: evs[0].Type, Events: evs}
	return s.raw(schemas.ActivitySubject(b.Host, b.Type), schemas.EncodeActivityBatch(nil, &b))
}

// checkpoint ends a commit.
func (s *stream) checkpoint() uint64 {
	s.t.Helper()
	return s.raw(schemas.CheckpointSubject(3), []byte(`{"v":1,"partition":3}`))
}

func (s *stream) raw(subject string, data []byte) uint64 {
	s.t.Helper()
	ack, err := s.js.Publish(s.ctx, subject, data)
	if err != nil {
		s.t.Fatal(err)
	}
	return ack.Sequence
}

// fill publishes three commits (the last without its checkpoint) and an unreadable message, and returns
// the sequence of the unreadable one.
func (s *stream) fill() uint64 {
	s.t.Helper()
	// Commit 1: the creation's message comes first, the mkdirs are earlier in time.
	s.publish(ev("web-1", "creation", "/srv/mon/x/f", 3))                                     // 1
	s.publish(ev("web-1", "mkdir", "/srv/mon/x", 1), ev("web-1", "mkdir", "/srv/other/y", 2)) // 2
	s.publish(ev("web-2", "mkdir", "/srv/mon/z", 2))                                          // 3
	s.checkpoint()                                                                            // 4
	bad := s.raw(schemas.ActivitySubject("web-1", "open"), []byte{0x94, 0x07})                // 5
	// Commit 2: equal times keep stream order.
	s.publish(ev("web-2", "rename", "/srv/mon/z2", 10))  // 6
	s.publish(ev("web-1", "unlink", "/srv/mon/x/f", 10)) // 7
	s.checkpoint()                                       // 8
	// Commit 3, its checkpoint not (yet) published.
	s.publish(ev("web-1", "rmdir", "/srv/mon/x", 20)) // 9
	return bad
}

// allEvents is what fill publishes, as described by describe, in delivery order without a filter.
var allEvents = []string{
	"2 mkdir /srv/mon/x", "2 mkdir /srv/other/y", "3 mkdir /srv/mon/z", "1 creation /srv/mon/x/f",
	"6 rename /srv/mon/z2", "7 unlink /srv/mon/x/f",
	"9 rmdir /srv/mon/x",
}

func describe(e client.Event) string { return fmt.Sprintf("%d %s %s", e.Seq, e.Type, e.Path) }

// run subscribes with opts until n events came (and a moment more, to see extra ones), and returns
// the batches and the errors reported.
func (s *stream) run(opts client.Options, n int) ([]client.Batch, []error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	var (
		mu      sync.Mutex
		batches []client.Batch
		errs    []error
		got     int
	)
	opts.FlushAfter = testFlush
	opts.OnError = func(err error) { errs = append(errs, err) }
	done := make(chan error, 1)
	go func() {
		done <- client.Subscribe(ctx, s.js, opts, func(b client.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			batches = append(batches, b)
			if got += len(b.Events); got >= n {
				time.AfterFunc(4*testFlush, cancel)
			}
			return nil
		})
	}()
	if n == 0 {
		time.AfterFunc(4*testFlush, cancel)
	}
	if err := <-done; err != nil {
		s.t.Fatalf("Subscribe: %v", err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		s.t.Fatalf("Subscribe %+v: %d events, want %d", opts, got, n)
	}
	return batches, errs
}

func events(batches []client.Batch) []string {
	var out []string
	for _, b := range batches {
		for _, e := range b.Events {
			out = append(out, describe(e))
		}
	}
	return out
}

func TestSubscribeOrdersAndFilters(t *testing.T) {
	s := newStream(t)
	bad := s.fill()
	tests := []struct {
		name string
		f    client.Filter
		want []string
	}{
		{"all", client.Filter{}, allEvents},
		{"hosts and types", client.Filter{Hosts: []string{"web-1"}, Types: []string{"mkdir", "unlink"}},
			[]string{"2 mkdir /srv/mon/x", "2 mkdir /srv/other/y", "7 unlink /srv/mon/x/f"}},
		{"paths", client.Filter{Paths: []string{"/srv/mon/**"}},
			[]string{"2 mkdir /srv/mon/x", "3 mkdir /srv/mon/z", "1 creation /srv/mon/x/f", "6 rename /srv/mon/z2", "7 unlink /srv/mon/x/f", "9 rmdir /srv/mon/x"}},
		{"one path", client.Filter{Paths: []string{"/srv/*/y"}}, []string{"2 mkdir /srv/other/y"}},
		{"nothing", client.Filter{Hosts: []string{"web-3"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batches, errs := s.run(client.Options{Filter: tt.f, Start: client.StartAll()}, len(tt.want))
			if got := events(batches); !slices.Equal(got, tt.want) {
				t.Errorf("events\n got %q\nwant %q", got, tt.want)
			}
			wantBad := 0
			if slices.Contains(tt.f.Subjects(), "fact.activity.*.*") {
				wantBad = 1 // the unreadable message is on fact.activity.web-1.open
			}
			var ue *client.UnreadableError
			if len(errs) != wantBad || wantBad == 1 && (!errors.As(errs[0], &ue) || ue.Seq != bad || !errors.Is(errs[0], client.ErrUnreadable)) {
				t.Errorf("errors %v, want %d about message %d", errs, wantBad, bad)
			}
		})
	}
}

func TestSubscribeBatches(t *testing.T) {
	s := newStream(t)
	s.fill()
	batches, _ := s.run(client.Options{Start: client.StartAll()}, len(allEvents))
	var got []string
	for _, b := range batches {
		got = append(got, fmt.Sprintf("%d:%d", b.Seq, len(b.Events)))
	}
	// A commit ends at its checkpoint (4, 8); the last one, without, after FlushAfter.
	if want := []string{"4:4", "8:2", "9:1"}; !slices.Equal(got, want) {
		t.Errorf("batches (seq:events) %q, want %q", got, want)
	}
}

// TestSubscribeResume resumes after every sequence: it gets exactly the events of later messages, and
// resuming after a batch's Seq gives exactly the later batches.
func TestSubscribeResume(t *testing.T) {
	s := newStream(t)
	s.fill()
	all, _ := s.run(client.Options{Start: client.StartAll()}, len(allEvents))
	for n := uint64(0); n <= 10; n++ {
		var want []string
		for _, e := range allEvents {
			var seq uint64
			fmt.Sscan(e, &seq)
			if seq > n {
				want = append(want, e)
			}
		}
		batches, _ := s.run(client.Options{Start: client.ResumeAfter(n)}, len(want))
		got := events(batches)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("after %d:\n got %q\nwant %q", n, got, want)
		}
	}
	for i, b := range all {
		batches, _ := s.run(client.Options{Start: client.ResumeAfter(b.Seq)}, len(events(all[i+1:])))
		if got, want := events(batches), events(all[i+1:]); !slices.Equal(got, want) {
			t.Errorf("after batch %d (seq %d):\n got %q\nwant %q", i, b.Seq, got, want)
		}
	}
}

func TestSubscribeNewAndTime(t *testing.T) {
	s := newStream(t)
	s.publish(ev("web-1", "creation", "/old", 0))
	s.checkpoint()
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	s.publish(ev("web-1", "creation", "/mid", 0))
	s.checkpoint()
	batches, _ := s.run(client.Options{Start: client.StartTime(mid)}, 1)
	if got := events(batches); !slices.Equal(got, []string{"3 creation /mid"}) {
		t.Errorf("from a time: %q", got)
	}
	ready := make(chan struct{})
	go func() {
		<-ready
		s.publish(ev("web-1", "creation", "/new", 0))
		s.checkpoint()
	}()
	batches, _ = s.run(client.Options{OnReady: func() { close(ready) }}, 1)
	if got := events(batches); !slices.Equal(got, []string{"5 creation /new"}) {
		t.Errorf("new only: %q", got)
	}
}

func TestSubscribeErrors(t *testing.T) {
	s := newStream(t)
	bad := s.fill()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	var seen []string
	err := client.Subscribe(ctx, s.js, client.Options{Start: client.StartAll()}, func(b client.Batch) error {
		seen = append(seen, events([]client.Batch{b})...)
		return nil
	})
	var ue *client.UnreadableError
	if !errors.As(err, &ue) || ue.Seq != bad || ue.Subject != "fact.activity.web-1.open" {
		t.Errorf("without OnError: error %v, want the unreadable message %d", err, bad)
	}
	if !slices.Equal(seen, allEvents[:4]) {
		t.Errorf("without OnError: events %q before the unreadable message", seen)
	}

	stop := errors.New("stop")
	err = client.Subscribe(ctx, s.js, client.Options{Start: client.StartAll()}, func(client.Batch) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("a handler's error: %v", err)
	}
	err = client.Subscribe(ctx, s.js, client.Options{Filter: client.Filter{Hosts: []string{"a.b"}}}, func(client.Batch) error { return nil })
	if !errors.Is(err, client.ErrInvalidFilter) || !strings.Contains(err.Error(), `host "a.b"`) {
		t.Errorf("a bad filter: %v", err)
	}
	if err := client.Subscribe(ctx, s.js, client.Options{}, nil); !errors.Is(err, client.ErrNoHandler) {
		t.Errorf("no handler: %v", err)
	}
}
