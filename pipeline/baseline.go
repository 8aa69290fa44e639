package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// BaselineTime returns when the host's first scan that FACT_RAW still holds ended: the time of its first
// scan_end raw event, the moment from which the index knew the host's tree (on a host with several
// filesystems, the first of them). It reads the host's messages from the stream's beginning up to that
// event; ErrNoBaseline when there is none.
func BaselineTime(ctx context.Context, js jetstream.JetStream, host string) (time.Time, error) {
	fail := func(err error) (time.Time, error) {
		return time.Time{}, fmt.Errorf("finding the baseline of %s: %w", host, err)
	}
	raw, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		return fail(err)
	}
	cons, err := raw.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{schemas.RawHostFilter(host)}})
	if err != nil {
		return fail(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fail(err)
	}
	if info.NumPending == 0 {
		return fail(ErrNoBaseline)
	}
	iter, err := cons.Messages(jetstream.PullMaxBytes(8 << 20))
	if err != nil {
		return fail(err)
	}
	defer iter.Stop()
	defer context.AfterFunc(ctx, iter.Stop)()
	var b schemas.Batch
	for {
		m, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			return fail(err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fail(err)
		}
		if schemas.DecodeBatch(m.Data(), &b) == nil { // what does not decode the resolvers dead-letter
			for i := range b.Events {
				if b.Events[i].Kind == schemas.KindScanEnd {
					return time.Unix(0, b.Events[i].Time), nil
				}
			}
		}
		if md.NumPending == 0 {
			return fail(ErrNoBaseline)
		}
	}
}
