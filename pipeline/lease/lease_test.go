package lease

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/nats-io/nats.go/jetstream"
)

// owners records which worker runs which partition, and fails on two owners at once.
type owners struct {
	mu  sync.Mutex
	by  map[int]string
	bad error
}

func (o *owners) owner(worker string) Owner {
	return func(ctx context.Context, l Lease) {
		o.mu.Lock()
		if w, ok := o.by[l.Partition]; ok && o.bad == nil {
			o.bad = fmt.Errorf("partition %d owned by %s and %s", l.Partition, w, worker)
		}
		o.by[l.Partition] = worker
		o.mu.Unlock()
		<-ctx.Done()
		o.mu.Lock()
		delete(o.by, l.Partition)
		o.mu.Unlock()
	}
}

func (o *owners) counts() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := map[string]int{}
	for _, w := range o.by {
		c[w]++
	}
	return c
}

func (o *owners) waitFor(t *testing.T, want map[string]int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := o.counts()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("owners %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFairShareAndFailover(t *testing.T) {
	s := natsservertest.RunServer(t)
	js, err := jetstream.New(natsservertest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	o := &owners{by: map[int]string{}}
	run := func(worker string) (context.CancelFunc, *Manager, chan error) {
		m, err := New(t.Context(), Config{JS: js, Worker: worker, Partitions: 64, TTL: time.Second, Renew: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, o.owner(worker)) }()
		return cancel, m, done
	}
	killA, _, doneA := run("a")
	_, mb, doneB := run("b")
	cancelC, _, doneC := run("c")
	defer cancelC()
	o.waitFor(t, map[string]int{"a": 22, "b": 21, "c": 21}, 5*time.Second)

	killA() // a dies without releasing: its leases expire after the TTL
	<-doneA
	start := time.Now()
	o.waitFor(t, map[string]int{"b": 32, "c": 32}, 5*time.Second)
	t.Logf("partitions of a dead worker moved in %s", time.Since(start).Round(10*time.Millisecond))

	mb.Stop() // b leaves: its leases go at once
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	o.waitFor(t, map[string]int{"c": 64}, 5*time.Second)
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("a graceful leave took %s to hand over", d)
	}
	cancelC()
	<-doneC
	if o.bad != nil {
		t.Fatal(o.bad)
	}
}

func TestShare(t *testing.T) {
	ws := []string{"a", "b", "c"}
	if share(ws, "a", 64)+share(ws, "b", 64)+share(ws, "c", 64) != 64 || share(ws, "a", 64) != 22 || share(ws, "c", 64) != 21 {
		t.Fatal("shares do not add up")
	}
	if _, err := New(context.Background(), Config{Worker: "x"}); err == nil {
		t.Fatal("no JS accepted")
	}
}

// TestParseKey: the bucket's keys name a partition's lease or a worker's heartbeat, as leaseKey and
// workerKey write them; anything else is not a key of this package.
func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		key       string
		partition int
		worker    string
		ok        bool
	}{
		{leaseKey(7), 7, "", true},
		{leaseKey(0), 0, "", true},
		{workerKey("node-1-42"), -1, "node-1-42", true},
		{"p.x", -1, "", false},
		{"p.-1", -1, "", false},
		{"q.3", -1, "", false},
	} {
		p, w, ok := ParseKey(tc.key)
		if p != tc.partition || w != tc.worker || ok != tc.ok {
			t.Errorf("ParseKey(%q) = %d, %q, %v; want %d, %q, %v", tc.key, p, w, ok, tc.partition, tc.worker, tc.ok)
		}
	}
}
