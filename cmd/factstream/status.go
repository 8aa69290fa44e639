package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/pipeline/lease"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// statusOptions are the flags of `factstream status`.
type statusOptions struct {
	client  clientOptions
	json    bool
	timeout time.Duration
}

func newStatusCmd() *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the streams, the partitions and their owners, the resolvers' lag and the sensors",
		Long: `Show the state of a factstream deployment, read from NATS:

  streams     FACT_RAW and FACT_ACTIVITY: messages, bytes, first and last sequence, consumers
  workers     the resolver workers alive (heartbeats in KV FACT_LEASES)
  partitions  each partition of FACT_RAW that has data, a lease or a checkpoint: its owner (KV
              FACT_LEASES), its hosts, the FACT_RAW sequence its last checkpoint covers and its lag,
              the FACT_RAW sequences its hosts have beyond that (0: caught up)
  sensors     every host found in FACT_RAW, asked for its status on fact.ctl.<host>.status: probe
              set, readiness, sequence, records lost in the kernel, spool; or "not answering"

A table for people by default, one JSON object with --json.`,
		Example: `  # the deployment of factstream up
  factstream status

  # a cluster, as JSON, waiting up to 5s for each sensor
  factstream status --nats nats://nats:4222 --timeout 5s --json | jq '.partitions[] | select(.lag > 0)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.client.bind(f)
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of tables")
	f.DurationVar(&o.timeout, "timeout", 2*time.Second, "how long to wait for each sensor's answer")
	return cmd
}

// validate checks the flags before anything connects.
func (o *statusOptions) validate() error {
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	return nil
}

func runStatus(ctx context.Context, cmd *cobra.Command, o *statusOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	nc, closeAll, err := o.client.dial("factstream-status", natsauth.RoleReader)
	if err != nil {
		return err
	}
	defer closeAll()
	r, err := gatherStatus(ctx, nc, o.timeout)
	if err != nil {
		return o.client.explain(nc, natsauth.RoleReader, "read the streams and the leases", err)
	}
	if o.json {
		return writeJSON(cmd.OutOrStdout(), r)
	}
	return writeStatusText(cmd.OutOrStdout(), r)
}

// statusReport is what status shows.
type statusReport struct {
	Streams    []streamStatus    `json:"streams"`
	Workers    []workerStatus    `json:"workers"`
	Partitions []partitionStatus `json:"partitions"`
	Sensors    []sensorStatus    `json:"sensors"`
}

type streamStatus struct {
	Name      string    `json:"name"`
	Exists    bool      `json:"exists"`
	Messages  uint64    `json:"messages"`
	Bytes     uint64    `json:"bytes"`
	FirstSeq  uint64    `json:"first_seq"`
	LastSeq   uint64    `json:"last_seq"`
	FirstTime time.Time `json:"first_time,omitzero"`
	LastTime  time.Time `json:"last_time,omitzero"`
	Consumers int       `json:"consumers"`
}

type workerStatus struct {
	Worker    string    `json:"worker"`
	Heartbeat time.Time `json:"heartbeat,omitzero"` // its last one
}

type partitionStatus struct {
	Partition    int       `json:"partition"`
	Owner        string    `json:"owner,omitempty"` // empty: no lease
	LeaseRenewed time.Time `json:"lease_renewed,omitzero"`
	Hosts        []string  `json:"hosts"`
	// Epoch and Worker are those of the last checkpoint, which covers FACT_RAW up to CoveredSeq (the
	// least sequence its hosts were read to).
	Epoch      uint64 `json:"checkpoint_epoch,omitempty"`
	Worker     string `json:"checkpoint_worker,omitempty"`
	CoveredSeq uint64 `json:"covered_seq"`
	RawLastSeq uint64 `json:"raw_last_seq"` // the last FACT_RAW sequence of its hosts
	Lag        uint64 `json:"lag"`          // FACT_RAW sequences beyond the checkpoint, the most of its hosts
}

type sensorStatus struct {
	Host      string                `json:"host"`
	Answering bool                  `json:"answering"`
	Error     string                `json:"error,omitempty"`
	Lost      uint64                `json:"lost"` // records lost because the ring buffer was full
	Status    *schemas.SensorStatus `json:"status,omitempty"`
}

// gatherStatus reads everything status shows.
func gatherStatus(ctx context.Context, nc *nats.Conn, timeout time.Duration) (*statusReport, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	r := &statusReport{Workers: []workerStatus{}, Partitions: []partitionStatus{}, Sensors: []sensorStatus{}}
	streams := map[string]jetstream.Stream{}
	for _, name := range []string{schemas.RawStream, schemas.ActivityStream} {
		st, s, err := streamState(ctx, js, name)
		if err != nil {
			return nil, err
		}
		r.Streams, streams[name] = append(r.Streams, st), s
	}
	lay, err := rawLayout(ctx, streams[schemas.RawStream])
	if err != nil {
		return nil, err
	}
	leases, err := readLeases(ctx, js, r)
	if err != nil {
		return nil, err
	}
	if r.Partitions, err = partitionStates(ctx, streams, lay, leases); err != nil {
		return nil, err
	}
	r.Sensors = askSensors(ctx, nc, lay.allHosts(), timeout)
	return r, nil
}

// streamState reads a stream's state; a stream that does not exist is reported as such, with a nil handle.
func streamState(ctx context.Context, js jetstream.JetStream, name string) (streamStatus, jetstream.Stream, error) {
	st := streamStatus{Name: name}
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return st, nil, nil
	}
	if err != nil {
		return st, nil, fmt.Errorf("reading stream %s: %w", name, err)
	}
	info := s.CachedInfo()
	st.Exists, st.Messages, st.Bytes = true, info.State.Msgs, info.State.Bytes
	st.FirstSeq, st.LastSeq, st.Consumers = info.State.FirstSeq, info.State.LastSeq, info.State.Consumers
	if st.Messages > 0 {
		st.FirstTime, st.LastTime = info.State.FirstTime.UTC(), info.State.LastTime.UTC()
	}
	return st, s, nil
}

// layout is where FACT_RAW holds what: the hosts with a filesystem in each partition (the hosts the
// partition's resolver reads), and every host.
type layout struct {
	partitions map[int][]string
	hosts      map[string]bool
}

func (l layout) allHosts() []string {
	hosts := make([]string, 0, len(l.hosts))
	for h := range l.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

// rawLayout lists FACT_RAW's subjects, fact.raw.<partition>.<host>.<dev>.
func rawLayout(ctx context.Context, raw jetstream.Stream) (layout, error) {
	l := layout{partitions: map[int][]string{}, hosts: map[string]bool{}}
	if raw == nil {
		return l, nil
	}
	info, err := raw.Info(ctx, jetstream.WithSubjectFilter(schemas.RawFilter()))
	if err != nil {
		return l, fmt.Errorf("listing the subjects of %s: %w", schemas.RawStream, err)
	}
	for subj := range info.State.Subjects {
		p, host, dev, ok := schemas.ParseRawSubject(subj)
		if !ok {
			continue
		}
		l.hosts[host] = true
		if dev != 0 && !slices.Contains(l.partitions[p], host) {
			l.partitions[p] = append(l.partitions[p], host)
		}
	}
	for _, hosts := range l.partitions {
		slices.Sort(hosts)
	}
	return l, nil
}

// readLeases reads FACT_LEASES: the workers go into r, the leases are returned by partition.
func readLeases(ctx context.Context, js jetstream.JetStream, r *statusReport) (map[int]lease.Record, error) {
	leases := map[int]lease.Record{}
	kv, err := js.KeyValue(ctx, schemas.LeaseBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return leases, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening KV %s: %w", schemas.LeaseBucket, err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, fmt.Errorf("listing KV %s: %w", schemas.LeaseBucket, err)
	}
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) { // expired meanwhile
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s in KV %s: %w", k, schemas.LeaseBucket, err)
		}
		var rec lease.Record
		_ = json.Unmarshal(e.Value(), &rec) // an unreadable value still names a lease
		switch p, w, ok := lease.ParseKey(k); {
		case ok && w != "":
			r.Workers = append(r.Workers, workerStatus{Worker: w, Heartbeat: rec.Since})
		case ok:
			leases[p] = rec
		}
	}
	slices.SortFunc(r.Workers, func(a, b workerStatus) int { return strings.Compare(a.Worker, b.Worker) })
	return leases, nil
}

// partitionStates describes every partition with data in FACT_RAW, a lease or a checkpoint.
func partitionStates(ctx context.Context, streams map[string]jetstream.Stream, lay layout, leases map[int]lease.Record) ([]partitionStatus, error) {
	cks, err := readCheckpoints(ctx, streams[schemas.ActivityStream])
	if err != nil {
		return nil, err
	}
	var parts []int
	for p := range lay.partitions {
		parts = append(parts, p)
	}
	for p := range leases {
		parts = append(parts, p)
	}
	for p := range cks {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	lasts := hostLasts{raw: streams[schemas.RawStream], seqs: map[string]uint64{}}
	out := []partitionStatus{}
	for _, p := range slices.Compact(parts) {
		ps := partitionStatus{Partition: p, Owner: leases[p].Worker, LeaseRenewed: leases[p].Since, Hosts: lay.partitions[p]}
		if ps.Hosts == nil {
			ps.Hosts = []string{}
		}
		if err := ps.lag(ctx, cks[p], &lasts); err != nil {
			return nil, err
		}
		out = append(out, ps)
	}
	return out, nil
}

// lag fills the checkpoint's coverage and the lag of the partition's hosts.
func (ps *partitionStatus) lag(ctx context.Context, ck *pipeline.Checkpoint, lasts *hostLasts) error {
	first := true
	if ck != nil {
		ps.Epoch, ps.Worker = ck.Epoch, ck.Worker
	}
	for _, h := range ps.Hosts {
		last, err := lasts.get(ctx, h)
		if err != nil {
			return err
		}
		var read uint64
		if ck != nil {
			read = ck.Hosts[h].Received
		}
		if first || read < ps.CoveredSeq {
			ps.CoveredSeq, first = read, false
		}
		ps.RawLastSeq = max(ps.RawLastSeq, last)
		if last > read {
			ps.Lag = max(ps.Lag, last-read)
		}
	}
	return nil
}

// readCheckpoints reads the last checkpoint of every partition that has one.
func readCheckpoints(ctx context.Context, act jetstream.Stream) (map[int]*pipeline.Checkpoint, error) {
	cks := map[int]*pipeline.Checkpoint{}
	if act == nil {
		return cks, nil
	}
	info, err := act.Info(ctx, jetstream.WithSubjectFilter(schemas.CheckpointFilter()))
	if err != nil {
		return nil, fmt.Errorf("listing the checkpoints in %s: %w", schemas.ActivityStream, err)
	}
	for subj := range info.State.Subjects {
		p, ok := schemas.ParseCheckpointSubject(subj)
		if !ok {
			continue
		}
		m, err := act.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the checkpoint of partition %d: %w", p, err)
		}
		ck := &pipeline.Checkpoint{}
		if err := json.Unmarshal(m.Data, ck); err != nil {
			return nil, fmt.Errorf("reading the checkpoint of partition %d at %d: %w", p, m.Sequence, err)
		}
		cks[p] = ck
	}
	return cks, nil
}

// hostLasts finds and remembers the FACT_RAW sequence of each host's last message.
type hostLasts struct {
	raw  jetstream.Stream
	seqs map[string]uint64
}

func (l *hostLasts) get(ctx context.Context, host string) (uint64, error) {
	if seq, ok := l.seqs[host]; ok || l.raw == nil {
		return seq, nil
	}
	m, err := l.raw.GetLastMsgForSubject(ctx, schemas.RawHostFilter(host))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return 0, fmt.Errorf("reading the last message of %s in %s: %w", host, schemas.RawStream, err)
	default:
		l.seqs[host] = m.Sequence
	}
	return l.seqs[host], nil
}

// askSensors asks every host's sensor for its status at once, each answer awaited up to timeout.
func askSensors(ctx context.Context, nc *nats.Conn, hosts []string, timeout time.Duration) []sensorStatus {
	out := make([]sensorStatus, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { out[i] = askSensor(ctx, nc, h, timeout) })
	}
	wg.Wait()
	return out
}

func askSensor(ctx context.Context, nc *nats.Conn, host string, timeout time.Duration) sensorStatus {
	st := sensorStatus{Host: host}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nc.RequestWithContext(ctx, schemas.ControlSubject(host, schemas.VerbStatus), nil)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		st.Error = "no sensor subscribed"
		return st
	case err != nil:
		st.Error = err.Error()
		return st
	}
	var s schemas.SensorStatus
	if err := json.Unmarshal(m.Data, &s); err != nil {
		st.Error = fmt.Sprintf("unreadable answer: %v", err)
		return st
	}
	st.Answering, st.Status = true, &s
	for _, c := range s.Counters {
		st.Lost += c.RingbufferFull
	}
	return st
}
