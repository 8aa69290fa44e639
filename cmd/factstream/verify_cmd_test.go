package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
)

// TestVerifyCommand: verify sends the host's sensor a VerifyRequest with the globs and prints its answer
// (as text, or JSON with --json); the sensor's refusal, no sensor, no answer, a missing host and a bad
// glob are errors that say so.
func TestVerifyCommand(t *testing.T) {
	srv := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, srv)
	url := srv.ClientURL()
	var mu sync.Mutex
	var got []schemas.VerifyRequest
	answer := func(subject string, reply func(schemas.VerifyRequest) *schemas.VerifyReply) {
		t.Helper()
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			var rq schemas.VerifyRequest
			_ = json.Unmarshal(m.Data, &rq)
			mu.Lock()
			got = append(got, rq)
			mu.Unlock()
			if r := reply(rq); r != nil {
				b, _ := json.Marshal(r)
				_ = m.Respond(b)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	answer(schemas.ControlSubject("node-1", schemas.VerbVerify), func(rq schemas.VerifyRequest) *schemas.VerifyReply {
		if len(rq.Paths) > 0 && rq.Paths[0] == "/refused/**" {
			return &schemas.VerifyReply{Error: "verifying: hashing is off (hash.algorithm none)"}
		}
		return &schemas.VerifyReply{Epoch: 7, Files: 3}
	})
	answer(schemas.ControlSubject("mute", schemas.VerbVerify), func(schemas.VerifyRequest) *schemas.VerifyReply { return nil })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	verify := func(args ...string) (string, error) {
		t.Helper()
		var out strings.Builder
		_, err := runCmd(ctx, &out, append([]string{"verify", "--nats", url, "--log-level", "error", "--data-dir", t.TempDir()}, args...)...)
		return out.String(), err
	}

	out, err := verify("--host", "node-1", "--path", "/etc/ssh", "--path", "/etc/*.conf", "--reason", "audit")
	if err != nil || !strings.Contains(out, "node-1: scan epoch 7 published, 3 files queued to hash") {
		t.Fatalf("verify: %q, %v; want the sensor's epoch and files", out, err)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Host != "node-1" || strings.Join(got[0].Paths, " ") != "/etc/ssh /etc/*.conf" || got[0].Reason != "audit" {
		t.Errorf("the sensor received %+v, want one request for node-1 with both globs and the reason", got)
	}
	mu.Unlock()
	out, err = verify("--host", "node-1", "--json")
	var reply schemas.VerifyReply
	if err != nil || json.Unmarshal([]byte(out), &reply) != nil || reply.Epoch != 7 || reply.Files != 3 {
		t.Fatalf("verify --json: %q, %v; want the answer as JSON", out, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--host: required"},
		{[]string{"--host", "node-1", "--path", "etc/**"}, `--path "etc/**"`},
		{[]string{"--host", "a.*"}, "not a host name"},
		{[]string{"--host", "node-1", "--path", "/refused/**"}, "node-1's sensor refused to verify: verifying: hashing is off"},
		{[]string{"--host", "node-2"}, "no sensor of that host is subscribed"},
		{[]string{"--host", "mute", "--timeout", "300ms"}, "no answer within 300ms"},
	} {
		if _, err := verify(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("verify %q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}
