package sensor

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics (the sensor's registry), /healthz (the sensor is running) and /readyz (the
// probes are attached and the first scan epoch is published).
func (s *Sensor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		probe(w, s.running.Load(), "not running")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		probe(w, s.ready.Load(), "not ready: probes attaching or first scan running")
	})
	return mux
}

func probe(w http.ResponseWriter, ok bool, why string) {
	if !ok {
		http.Error(w, why, http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Ready reports whether the first scan epoch is published.
func (s *Sensor) Ready() bool { return s.ready.Load() }
