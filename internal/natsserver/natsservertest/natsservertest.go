package natsservertest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/nats-io/nats.go"
)

// startTimeout bounds how long a helper waits for a server or a cluster to be ready.
const startTimeout = 20 * time.Second

// RunServer starts a single JetStream server on a random loopback port with its store in t.TempDir(),
// and shuts it down when the test ends.
func RunServer(t testing.TB) *natsserver.Server {
	t.Helper()
	return RunServerWith(t, natsserver.Config{StoreDir: t.TempDir(), Port: natsserver.RandomPort})
}

// RunServerWith starts a server for cfg and shuts it down when the test ends.
func RunServerWith(t testing.TB, cfg natsserver.Config) *natsserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := natsserver.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting nats server: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Restart shuts s down and starts a new server with the same store directory and ports.
func Restart(t testing.TB, s *natsserver.Server) *natsserver.Server {
	t.Helper()
	s.Shutdown()
	return RunServerWith(t, s.Config())
}

// Connect returns an in-process connection to s, closed when the test ends.
func Connect(t testing.TB, s *natsserver.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := s.Connect(opts...)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// FreePort returns a loopback TCP port that was free a moment ago (for configs that must name ports up
// front, such as cluster routes).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func routeURL(port int) string { return "nats-route://127.0.0.1:" + strconv.Itoa(port) }

// Cluster is a set of clustered JetStream servers.
type Cluster struct {
	Name    string
	Servers []*natsserver.Server
	t       testing.TB
}

// RunCluster starts n (at least 3 for R3) clustered JetStream servers with stores in t.TempDir(), waits
// for a JetStream meta leader, and shuts them down when the test ends.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{Name: "fs-test-" + strconv.Itoa(FreePort(t)), t: t}
	routes := make([]string, n)
	cfgs := make([]natsserver.Config, n)
	for i := range n {
		routes[i] = routeURL(FreePort(t))
	}
	for i := range n {
		port, _ := strconv.Atoi(routes[i][strings.LastIndex(routes[i], ":")+1:])
		cfgs[i] = natsserver.Config{
			StoreDir:   t.TempDir(),
			Port:       natsserver.RandomPort,
			ServerName: fmt.Sprintf("%s-s%d", c.Name, i+1),
			Cluster:    natsserver.ClusterConfig{Name: c.Name, Port: port, Routes: routes},
		}
	}
	c.Servers = startAll(t, cfgs)
	c.WaitForMetaLeader()
	return c
}

// startAll starts the servers concurrently: a clustered server becomes ready only once it sees peers.
func startAll(t testing.TB, cfgs []natsserver.Config) []*natsserver.Server {
	t.Helper()
	type result struct {
		i   int
		s   *natsserver.Server
		err error
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ch := make(chan result, len(cfgs))
	for i, cfg := range cfgs {
		go func() {
			s, err := natsserver.Start(ctx, cfg)
			ch <- result{i, s, err}
		}()
	}
	servers := make([]*natsserver.Server, len(cfgs))
	var firstErr error
	for range cfgs {
		r := <-ch
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		if r.s != nil {
			servers[r.i] = r.s
			t.Cleanup(r.s.Shutdown)
		}
	}
	if firstErr != nil {
		t.Fatalf("starting cluster: %v", firstErr)
	}
	return servers
}

// WaitForMetaLeader waits until one running server is the JetStream meta leader and every running
// server is current with it.
func (c *Cluster) WaitForMetaLeader() {
	c.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if c.metaReady() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.t.Fatalf("cluster %s: no JetStream meta leader after %s", c.Name, startTimeout)
}

func (c *Cluster) metaReady() bool {
	leaders := 0
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		ns := s.Underlying()
		if !ns.JetStreamIsCurrent() {
			return false
		}
		if ns.JetStreamIsLeader() {
			leaders++
		}
	}
	return leaders == 1
}

// ClientURLs is a comma-separated list of the servers' client URLs, for nats.Connect.
func (c *Cluster) ClientURLs() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}

// Connect returns a TCP connection to the cluster (it fails over between servers), closed when the test
// ends.
func (c *Cluster) Connect(opts ...nats.Option) *nats.Conn {
	c.t.Helper()
	nc, err := nats.Connect(c.ClientURLs(), opts...)
	if err != nil {
		c.t.Fatalf("connecting to cluster %s: %v", c.Name, err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// Stop shuts server i down.
func (c *Cluster) Stop(i int) { c.Servers[i].Shutdown() }

// Restart shuts server i down (if running) and starts it again with the same store and ports.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Servers[i].Shutdown()
	c.Servers[i] = RunServerWith(c.t, c.Servers[i].Config())
}
