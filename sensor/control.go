package sensor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/seqstore"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
)

// rescanTimeout bounds a rescan requested over NATS.
const rescanTimeout = 5 * time.Minute

// RescanReply answers a rescan request; the wire's type.
type RescanReply = schemas.RescanReply

// Status is what the status request and Sensor.Status report; the wire's type.
type Status = schemas.SensorStatus

// SpoolStatus is the publisher's backlog, read from its metrics.
type SpoolStatus = schemas.SpoolStatus

// Status reports the sensor's state.
func (s *Sensor) Status() Status {
	queued, last := s.batch.stats()
	s.scanMu.Lock()
	prefixes := append([]string(nil), s.prefixes...)
	s.scanMu.Unlock()
	cp := s.acct.Checkpoint(s.cfg.BootID, time.Now())
	return Status{
		Host: s.cfg.Host, BootID: s.cfg.BootID, ProbeSet: string(s.kernel.Set()), Ready: s.ready.Load(),
		Paths: s.set.Load().Strings(), Prefixes: prefixes, Sequence: s.seqs.Peek(seqstore.Events), LastSeq: last,
		KernelSeq: s.acct.KernelSeq(), Delivered: cp.KernelSeq, Instance: cp.Instance, Restart: s.acct.RestartState(),
		Pending: queued, Spool: s.spoolStatus(), Counters: cp.Counters, LastScan: s.lastScan.Load(), Hash: s.hashStatus(),
	}
}

// spoolStatus reads the publisher's gauges from the registry.
func (s *Sensor) spoolStatus() SpoolStatus {
	var st SpoolStatus
	mfs, err := s.reg.Gather()
	if err != nil {
		return st
	}
	for _, mf := range mfs {
		v := gaugeValue(mf)
		switch mf.GetName() {
		case "factstream_publish_spool_records":
			st.Batches = v
		case "factstream_publish_spool_bytes":
			st.Bytes = v
		case "factstream_publish_memory_queue_bytes":
			st.MemoryBytes = v
		case "factstream_publish_pending_acks":
			st.PendingAcks = v
		}
	}
	return st
}

func gaugeValue(mf *dto.MetricFamily) float64 {
	if ms := mf.GetMetric(); len(ms) == 1 && ms[0].GetGauge() != nil {
		return ms[0].GetGauge().GetValue()
	}
	return 0
}

// control subscribes to the control subjects and returns a function that unsubscribes.
func (s *Sensor) control() func() {
	if s.conn == nil {
		return func() {}
	}
	var subs []*nats.Subscription
	handlers := map[string]nats.MsgHandler{schemas.VerbRescan: s.onRescan, schemas.VerbStatus: s.onStatus, schemas.VerbVerify: s.onVerify}
	for verb, h := range handlers {
		sub, err := s.conn.Subscribe(schemas.ControlSubject(s.cfg.Host, verb), h)
		if err != nil {
			s.log.Error("cannot answer control requests", zap.String("verb", verb), zap.Error(err))
			continue
		}
		subs = append(subs, sub)
	}
	return func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
	}
}

// onRescan answers a rescan request. Its data is either a host path (an operator's request: the
// filesystem holding it is rescanned now, and the reply carries the epoch) or a schemas.RescanRequest in
// JSON (a resolver's: the filesystem is queued, requests for the same filesystem coalesce into one epoch,
// and the scan runs on the sensor's own goroutine).
func (s *Sensor) onRescan(msg *nats.Msg) {
	if data := bytes.TrimSpace(msg.Data); len(data) > 0 && data[0] == '{' {
		s.onRescanRequest(msg, data)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rescanTimeout)
	defer cancel()
	subtree := strings.TrimSpace(string(msg.Data))
	epoch, err := s.Rescan(ctx, subtree)
	reply := RescanReply{Epoch: epoch}
	outcome := "ok"
	if err != nil {
		reply, outcome = RescanReply{Error: err.Error()}, "error"
		s.log.Warn("rescan request failed", zap.String("path", subtree), zap.Error(err))
	} else {
		s.log.Info("rescan request answered", zap.String("path", subtree), zap.Uint64("epoch", epoch))
	}
	s.respond(msg, schemas.VerbRescan, outcome, reply)
}

// onRescanRequest queues a resolver's rescan request for the requested filesystem.
func (s *Sensor) onRescanRequest(msg *nats.Msg, data []byte) {
	var rq schemas.RescanRequest
	if err := json.Unmarshal(data, &rq); err != nil {
		s.log.Warn("ignoring an unreadable rescan request", zap.ByteString("data", data), zap.Error(err))
		s.respond(msg, schemas.VerbRescan, "error", RescanReply{Error: fmt.Sprintf("decoding rescan request: %v", err)})
		return
	}
	if rq.Host != "" && rq.Host != s.cfg.Host {
		s.respond(msg, schemas.VerbRescan, "error", RescanReply{Error: fmt.Sprintf("rescan request for host %q reached %q", rq.Host, s.cfg.Host)})
		return
	}
	s.queueRescan(rq.Dev)
	s.log.Info("rescan requested by a resolver", zap.Uint64("dev", rq.Dev), zap.String("reason", rq.Reason),
		zap.Uint64("raw_seq", rq.RawSeq), zap.Int("partition", rq.Partition))
	s.respond(msg, schemas.VerbRescan, "queued", RescanReply{})
}

func (s *Sensor) onStatus(msg *nats.Msg) { s.respond(msg, schemas.VerbStatus, "ok", s.Status()) }

// respond counts a control request and answers it when its sender asked for an answer.
func (s *Sensor) respond(msg *nats.Msg, verb, outcome string, v any) {
	s.m.controlReqs.WithLabelValues(verb, outcome).Inc()
	if msg.Reply == "" {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = fmt.Appendf(nil, `{"error":%q}`, err.Error())
	}
	if err := msg.Respond(b); err != nil {
		s.log.Warn("answering a control request", zap.String("verb", verb), zap.Error(err))
	}
}

// jetstreamFor returns a JetStream context on nc.
func jetstreamFor(nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	return js, nil
}
