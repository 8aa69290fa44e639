package main

import (
	"testing"
	"time"

	"github.com/factstream/factstream/sensor"
)

func TestConfigEqual(t *testing.T) {
	base := func() sensor.Config {
		return sensor.Config{
			Host: "node-1", Paths: []string{"/etc/**", "/usr/bin"}, StateDir: "/var/lib/factstream",
			Probes: sensor.ProbesConfig{Set: "auto", WakeupBytes: 64 << 10},
			NATS: sensor.NATSConfig{URL: "nats://a:4222", TLS: sensor.TLSConfig{CA: "/ca.pem"},
				Stream: sensor.StreamConfig{Partitions: 4, MaxAge: time.Hour}},
			Batch: sensor.BatchConfig{MaxEvents: 2048, MaxDelay: 5 * time.Millisecond},
			Log:   sensor.LogConfig{Level: "info", Format: "json"},
		}
	}
	// edit changes b (and a, where the case needs both) from the same base.
	cases := []struct {
		name  string
		edit  func(a, b *sensor.Config)
		equal bool
	}{
		{"same", func(_, _ *sensor.Config) {}, true},
		{"nil and empty paths alike", func(a, b *sensor.Config) { a.Paths, b.Paths = nil, []string{} }, true},
		{"no paths", func(_, b *sensor.Config) { b.Paths = nil }, false},
		{"other path", func(_, b *sensor.Config) { b.Paths[1] = "/usr/sbin" }, false},
		{"paths split differently", func(_, b *sensor.Config) { b.Paths = []string{"/etc/** /usr/bin"} }, false},
		{"host", func(_, b *sensor.Config) { b.Host = "node-2" }, false},
		{"nested TLS file", func(_, b *sensor.Config) { b.NATS.TLS.Key = "/key.pem" }, false},
		{"stream max age", func(_, b *sensor.Config) { b.NATS.Stream.MaxAge = 2 * time.Hour }, false},
		{"log level", func(_, b *sensor.Config) { b.Log.Level = "debug" }, false},
		{"wakeup bytes", func(_, b *sensor.Config) { b.Probes.WakeupBytes = 0 }, false},
		// Printed with %+v both read {Host:a BootID:b BootID: Paths:...}.
		{"fields that print alike", func(a, b *sensor.Config) {
			a.Host, a.BootID = "a BootID:b", ""
			b.Host, b.BootID = "a", "b BootID:"
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.edit(&a, &b)
			if got := configEqual(a, b); got != tc.equal {
				t.Errorf("configEqual = %v, want %v", got, tc.equal)
			}
			if got := configEqual(b, a); got != tc.equal {
				t.Errorf("configEqual reversed = %v, want %v", got, tc.equal)
			}
		})
	}
}
