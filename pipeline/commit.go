package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// Exactly once, and fenced.
//
// A partition's output goes to FACT_ACTIVITY in commits: one JetStream atomic batch (nats-server 2.12+,
// stream flag AllowAtomicPublish, published with jetstreamext.PublishMsgBatch) holding the enriched-event
// messages, the dead letters and, last, a checkpoint on fact.ckpt.<partition>. The server stores all of
// them or none. The checkpoint says, per host of the partition, how many items (file messages, gaps,
// dead letters, numbered in stream order by the host's view) have been published, and it carries the
// header Nats-Expected-Last-Subject-Sequence with the stream sequence of the partition's previous
// checkpoint. So the checkpoints of a partition form a chain, and a commit lands only on the tip it was
// built on.
//
// A worker that takes a partition first reads the tip and claims it: it publishes a checkpoint with the
// same counts and its lease epoch, expecting the tip. From then on every commit of a former owner, built
// on an older tip, is rejected whole: a worker that lost its partition cannot publish, even if it does
// not know yet. If the claim itself is rejected, a former owner committed in between and the new owner
// reads the new tip before going on. A commit whose outcome is unknown (a timeout) ends the partition's
// run: the next run reads the tip and knows. Replaying from a snapshot, a view numbers its items again
// and publishes only those above the checkpoint's count, so nothing is published twice and nothing is
// skipped. Each message also has a Nats-Msg-Id derived from the tip and its place in the commit, so a
// resend of the same commit within the dedup window is refused as a duplicate as well.

// checkpointVersion is the version of the checkpoint's JSON.
const checkpointVersion = 1

// Checkpoint is the JSON payload on fact.ckpt.<partition> (schemas/README.md): the partition, the
// lease epoch and worker that committed, and how far each host's view has been published.
type Checkpoint struct {
	Version   int                 `json:"v"`
	Partition int                 `json:"partition"`
	Epoch     uint64              `json:"epoch"`
	Worker    string              `json:"worker"`
	Hosts     map[string]ViewMark `json:"hosts"`
}

// ViewMark is how far a host's view of the partition has been published.
type ViewMark struct {
	Emitted  uint64 `json:"emitted"`  // items published
	Received uint64 `json:"received"` // FACT_RAW sequence read, for operators
}

// chain is a partition's checkpoint chain as one worker sees it.
type chain struct {
	js        jetstream.JetStream
	stream    jetstream.Stream
	partition int
	epoch     uint64
	worker    string
	tip       uint64 // stream sequence of the last checkpoint, 0 when there is none
	last      Checkpoint
}

// readTip reads the partition's last checkpoint.
func (c *chain) readTip(ctx context.Context) error {
	m, err := c.stream.GetLastMsgForSubject(ctx, schemas.CheckpointSubject(c.partition))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		c.tip, c.last = 0, Checkpoint{}
		return nil
	case err != nil:
		return fmt.Errorf("reading checkpoint of partition %d: %w", c.partition, err)
	}
	var ck Checkpoint
	if err := json.Unmarshal(m.Data, &ck); err != nil || ck.Version != checkpointVersion {
		return fmt.Errorf("reading checkpoint of partition %d at %d: %w (version %d)", c.partition, m.Sequence, err, ck.Version)
	}
	c.tip, c.last = m.Sequence, ck
	return nil
}

// claim makes this worker's epoch the tip of the chain, retrying while a former owner commits.
func (c *chain) claim(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		if err := c.readTip(ctx); err != nil {
			return err
		}
		if c.last.Epoch > c.epoch {
			return fmt.Errorf("partition %d has epoch %d above ours, %d: %w", c.partition, c.last.Epoch, c.epoch, ErrFenced)
		}
		ck := c.last
		ck.Version, ck.Partition, ck.Epoch, ck.Worker = checkpointVersion, c.partition, c.epoch, c.worker
		if ck.Hosts == nil {
			ck.Hosts = map[string]ViewMark{}
		}
		data, _ := json.Marshal(ck)
		ack, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: schemas.CheckpointSubject(c.partition), Data: data},
			jetstream.WithExpectLastSequencePerSubject(c.tip))
		if err == nil {
			c.tip, c.last = ack.Sequence, ck
			return nil
		}
		if !wrongLastSequence(err) || attempt == 20 {
			return fmt.Errorf("claiming partition %d: %w", c.partition, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// commit publishes msgs and the checkpoint of marks as one atomic batch on the tip. ErrFenced means
// another worker claimed the partition.
func (c *chain) commit(ctx context.Context, msgs []*nats.Msg, marks map[string]ViewMark) error {
	ck := Checkpoint{Version: checkpointVersion, Partition: c.partition, Epoch: c.epoch, Worker: c.worker, Hosts: marks}
	data, _ := json.Marshal(ck)
	msgs = append(msgs, &nats.Msg{Subject: schemas.CheckpointSubject(c.partition), Data: data, Header: nats.Header{}})
	msgs[len(msgs)-1].Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(c.tip, 10))
	prefix := strconv.Itoa(c.partition) + "." + strconv.FormatUint(c.tip, 10) + "."
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(jetstream.MsgIDHeader, prefix+strconv.Itoa(i))
	}
	ack, err := jetstreamext.PublishMsgBatch(ctx, c.js, msgs, jetstreamext.BatchFlowControl{AckFirst: false})
	if err != nil {
		if wrongLastSequence(err) {
			return fmt.Errorf("committing partition %d on %d: %w", c.partition, c.tip, ErrFenced)
		}
		return fmt.Errorf("committing partition %d: %w", c.partition, err)
	}
	c.tip, c.last = ack.Sequence, ck
	return nil
}

// wrongLastSequence reports whether err is JetStream's refusal of an expected last sequence.
func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
