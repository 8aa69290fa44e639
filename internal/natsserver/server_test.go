package natsserver_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestStartConnectRestart(t *testing.T) {
	ctx := t.Context()
	s := natsservertest.RunServer(t)
	if s.Config().Port <= 0 {
		t.Fatalf("random port not resolved: %d", s.Config().Port)
	}
	nc := natsservertest.Connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("creating stream: %v", err)
	}
	if _, err := js.Publish(ctx, "t.1", []byte("x")); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	url := s.ClientURL()
	nc.Close()

	s2 := natsservertest.Restart(t, s)
	if s2.ClientURL() != url {
		t.Fatalf("restart moved the server: %s, was %s", s2.ClientURL(), url)
	}
	tcp, err := nats.Connect(s2.ClientURL())
	if err != nil {
		t.Fatalf("connecting over TCP: %v", err)
	}
	defer tcp.Close()
	js2, _ := jetstream.New(tcp)
	st, err := js2.Stream(ctx, "T")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("messages after restart: %d, want 1", n)
	}
	s2.Shutdown()
	s2.Shutdown() // twice is fine
}

func TestStartErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name string
		cfg  natsserver.Config
		want error
	}{
		{"no store dir", natsserver.Config{Port: natsserver.RandomPort}, natsserver.ErrNoStoreDir},
		{"bad port", natsserver.Config{StoreDir: t.TempDir(), Port: 70000}, natsserver.ErrInvalidPort},
		{"port in use", natsserver.Config{StoreDir: t.TempDir(), Port: busy}, syscall.EADDRINUSE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			s, err := natsserver.Start(ctx, c.cfg)
			if !errors.Is(err, c.want) {
				if s != nil {
					s.Shutdown()
				}
				t.Fatalf("Start: %v, want %v", err, c.want)
			}
			t.Logf("error reads: %v", err)
		})
	}
}

func TestStoreDirInUse(t *testing.T) {
	s := natsservertest.RunServer(t)
	_, err := natsserver.Start(t.Context(), natsserver.Config{StoreDir: s.Config().StoreDir, Port: natsserver.RandomPort})
	if !errors.Is(err, natsserver.ErrStoreLocked) {
		t.Fatalf("second server on the same store: %v, want ErrStoreLocked", err)
	}
	t.Logf("error reads: %v", err)
}

func TestDontListen(t *testing.T) {
	s := natsservertest.RunServerWith(t, natsserver.Config{StoreDir: t.TempDir(), DontListen: true})
	nc := natsservertest.Connect(t, s)
	if _, err := nc.Request("$JS.API.INFO", nil, 2*time.Second); err != nil {
		t.Fatalf("JetStream API over in-process connection: %v", err)
	}
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	ctx := t.Context()
	c := natsservertest.RunCluster(t, 3)
	nc := c.Connect()
	js, _ := jetstream.New(nc)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	if err != nil {
		t.Fatalf("creating R3 stream: %v", err)
	}
	for i := range 10 {
		if _, err := js.Publish(ctx, "r3."+strconv.Itoa(i), nil); err != nil {
			t.Fatalf("publishing: %v", err)
		}
	}
	c.Restart(1)
	c.WaitForMetaLeader()
	// The client may be reconnecting and the stream electing a leader: a lookup can time out meanwhile.
	var st jetstream.Stream
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if st, err = js.Stream(ctx, "R3"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("looking up R3 after restarting a server, for a minute: %v", err)
		}
	}
	if got := st.CachedInfo().Config.Replicas; got != 3 {
		t.Fatalf("replicas %d", got)
	}
}
