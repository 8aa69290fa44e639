package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// ExampleSubscribe prints the creations and mkdirs under /srv/mon of every host, one line each, then
// the sequence to resume after. Subscribe delivers a commit in time order: the mkdir first, although
// the resolver published the creation's message before it.
func ExampleSubscribe() {
	js, stop := exampleJetStream() // in real life: nats.Connect(url), then jetstream.New
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := client.Options{
		Filter:  client.Filter{Types: []string{"creation", "mkdir"}, Paths: []string{"/srv/mon/**"}},
		Start:   client.StartAll(), // or client.ResumeAfter(the Seq of the last batch handled)
		OnError: func(err error) { log.Print(err) },
	}
	err := client.Subscribe(ctx, js, opts, func(b client.Batch) error {
		for _, e := range b.Events {
			fmt.Printf("%s %s %s (message %d)\n", e.Host, e.Type, e.Path, e.Seq)
		}
		fmt.Println("resume after", b.Seq)
		cancel() // one commit is enough here
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// web-1 mkdir /srv/mon/x (message 2)
	// web-1 creation /srv/mon/x/f (message 1)
	// resume after 3
}

// exampleJetStream starts an embedded server whose FACT_ACTIVITY holds one commit of a resolver.
func exampleJetStream() (jetstream.JetStream, func()) {
	dir, err := os.MkdirTemp("", "factstream-example")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := natsserver.Start(ctx, natsserver.Config{StoreDir: dir, DontListen: true})
	if err != nil {
		log.Fatal(err)
	}
	stop := func() { srv.Shutdown(); _ = os.RemoveAll(dir) }
	nc, err := srv.Connect()
	if err != nil {
		log.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{}); err != nil {
		log.Fatal(err)
	}
	t := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC).UnixNano()
	for _, b := range []schemas.ActivityBatch{
		{Host: "web-1", Type: "creation", Events: []schemas.Activity{{Time: t + 2, Path: []byte("/srv/mon/x/f")}}},
		{Host: "web-1", Type: "mkdir", Events: []schemas.Activity{{Time: t + 1, Path: []byte("/srv/mon/x")}}},
	} {
		if _, err := js.Publish(ctx, schemas.ActivitySubject(b.Host, b.Type), schemas.EncodeActivityBatch(nil, &b)); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, schemas.CheckpointSubject(0), []byte(`{"v":1}`)); err != nil {
		log.Fatal(err)
	}
	return js, func() { nc.Close(); stop() }
}
