package publish_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureRawStreamTransform(t *testing.T) {
	ctx := t.Context()
	s := natsservertest.RunServer(t)
	js := jsFor(t, natsservertest.Connect(t, s))
	cfg := publish.RawStreamConfig{Partitions: 16, MaxAge: time.Hour, MaxBytes: 1 << 30, Duplicates: 5 * time.Minute}
	if err := publish.EnsureRawStream(ctx, js, cfg); err != nil {
		t.Fatalf("creating: %v", err)
	}
	if err := publish.EnsureRawStream(ctx, js, cfg); err != nil {
		t.Fatalf("checking the stream it created: %v", err)
	}
	for range 2 {
		if _, err := js.Publish(ctx, "fact.in.h1.2049", []byte("x")); err != nil {
			t.Fatalf("publishing: %v", err)
		}
	}
	st, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^fact\.raw\.(\d+)\.h1\.2049$`)
	var parts []int
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		sub := re.FindStringSubmatch(m.Subject)
		if sub == nil {
			t.Fatalf("stored under %q, want fact.raw.<p>.h1.2049", m.Subject)
		}
		p, _ := strconv.Atoi(sub[1])
		if p >= cfg.Partitions {
			t.Fatalf("partition %d out of %d", p, cfg.Partitions)
		}
		parts = append(parts, p)
	}
	if parts[0] != parts[1] {
		t.Fatalf("same host and device landed in partitions %v", parts)
	}
	info := st.CachedInfo().Config
	if info.Storage != jetstream.FileStorage || info.MaxAge != time.Hour || info.MaxBytes != 1<<30 || info.Duplicates != 5*time.Minute {
		t.Fatalf("created with %+v", info)
	}
}

// TestEnsureRawStreamIncompatible is case (d): an existing stream that does not fit is reported, setting
// by setting, and left alone.
func TestEnsureRawStreamIncompatible(t *testing.T) {
	ctx := t.Context()
	s := natsservertest.RunServer(t)
	js := jsFor(t, natsservertest.Connect(t, s))
	existing := jetstream.StreamConfig{
		Name: schemas.RawStream, Subjects: []string{"fact.in.*.*"}, Storage: jetstream.MemoryStorage,
		Duplicates: 30 * time.Second,
	}
	if _, err := js.CreateStream(ctx, existing); err != nil {
		t.Fatal(err)
	}
	err := publish.EnsureRawStream(ctx, js, publish.RawStreamConfig{})
	var ie *publish.IncompatibleStreamError
	if !errors.Is(err, publish.ErrIncompatibleStream) || !errors.As(err, &ie) {
		t.Fatalf("got %v, want an IncompatibleStreamError", err)
	}
	for _, setting := range []string{"subject_transform", "storage", "duplicate_window"} {
		if !ie.Has(setting) {
			t.Errorf("mismatch %q not reported in %v", setting, err)
		}
	}
	if ie.Has("subjects") || ie.Has("retention") || ie.Has("discard") {
		t.Errorf("compatible settings reported: %v", err)
	}
	t.Logf("error reads: %v", err)
	st, _ := js.Stream(ctx, schemas.RawStream)
	if got := st.CachedInfo().Config; got.Storage != jetstream.MemoryStorage || got.SubjectTransform != nil {
		t.Fatalf("stream was changed: %+v", got)
	}
}

func TestEnsureRawStreamUnreachable(t *testing.T) {
	nc := tcpConn(t, "nats://127.0.0.1:"+strconv.Itoa(natsservertest.FreePort(t)))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := publish.EnsureRawStream(ctx, jsFor(t, nc), publish.RawStreamConfig{})
	if !errors.Is(err, publish.ErrNotConnected) {
		t.Fatalf("got %v, want ErrNotConnected", err)
	}
	t.Logf("error reads: %v", err)
}

func TestRawStreamConfigInvalid(t *testing.T) {
	s := natsservertest.RunServer(t)
	js := jsFor(t, natsservertest.Connect(t, s))
	err := publish.EnsureRawStream(t.Context(), js, publish.RawStreamConfig{MaxAge: time.Minute, Duplicates: time.Hour})
	if !errors.Is(err, publish.ErrInvalidConfig) {
		t.Fatalf("got %v, want ErrInvalidConfig", err)
	}
}
