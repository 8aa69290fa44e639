package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

// verifyOptions are the flags of `factstream verify`.
type verifyOptions struct {
	client  clientOptions
	host    string
	paths   []string
	reason  string
	json    bool
	timeout time.Duration
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify --host H [--path GLOB]...",
		Short: "Ask a host's sensor to rescan and hash its monitored files, for drift",
		Long: `Ask the sensor of one host for a verification: a scan epoch of every monitored filesystem whose
regular files are hashed in the background (all of them, or those the --path globs select: a file a glob
matches, or one below a directory it matches). The resolver compares each hash with what it knows and
reports a difference no event explains as drift. The sensor answers once the epoch is published, with
the epoch and how many files it queued to hash; the hashes follow, and factstream status shows their
progress. A sensor also verifies on its own every verify_interval.

It sends fact.ctl.<host>.verify, which only the admin credentials may: it makes the node read files.`,
		Example: `  # everything host node-1 monitors
  factstream verify --host node-1

  # only what is below /etc/ssh, and the .conf files of /etc
  factstream verify --host node-1 --path '/etc/ssh' --path '/etc/*.conf' --nats nats://nats:4222 --creds admin.creds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVerify(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.client.bind(f)
	f.StringVar(&o.host, "host", "", "the host whose sensor verifies (required)")
	f.StringArrayVar(&o.paths, "path", nil, "hash only the files this glob selects; repeatable (default: every monitored file)")
	f.StringVar(&o.reason, "reason", "factstream verify", "why, for the sensor's log")
	f.BoolVar(&o.json, "json", false, "print the sensor's answer as JSON")
	f.DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for the sensor's answer (it answers after its scan)")
	return cmd
}

// validate checks the flags before anything connects.
func (o *verifyOptions) validate() error {
	if o.host == "" {
		return errors.New("--host: required: name the host whose sensor verifies")
	}
	h, verb, ok := schemas.ParseControlSubject(schemas.ControlSubject(o.host, schemas.VerbVerify))
	if !ok || h != o.host || verb != schemas.VerbVerify || strings.ContainsAny(o.host, "*> \t") {
		return fmt.Errorf("--host %q: not a host name", o.host)
	}
	for _, p := range o.paths {
		if _, err := glob.Compile(p); err != nil {
			return fmt.Errorf("--path %q: %w", p, err)
		}
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	return nil
}

func runVerify(ctx context.Context, cmd *cobra.Command, o *verifyOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	nc, closeAll, err := o.client.dial("factstream-verify", natsauth.RoleAdmin)
	if err != nil {
		return err
	}
	defer closeAll()
	reply, err := askVerify(ctx, nc, schemas.VerifyRequest{Host: o.host, Paths: o.paths, Reason: o.reason}, o.timeout)
	if err != nil {
		return o.client.explain(nc, natsauth.RoleAdmin, "ask "+o.host+"'s sensor to verify", err)
	}
	if o.json {
		return writeJSON(cmd.OutOrStdout(), reply)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: scan epoch %d published, %d files queued to hash (factstream status shows the progress)\n",
		o.host, reply.Epoch, reply.Files)
	return err
}

// askVerify sends rq to its host's sensor and waits up to timeout for the answer; the sensor's refusal
// is an error.
func askVerify(ctx context.Context, nc *nats.Conn, rq schemas.VerifyRequest, timeout time.Duration) (schemas.VerifyReply, error) {
	var reply schemas.VerifyReply
	data, err := json.Marshal(rq)
	if err != nil {
		return reply, fmt.Errorf("encoding the verify request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nc.RequestWithContext(ctx, schemas.ControlSubject(rq.Host, schemas.VerbVerify), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return reply, fmt.Errorf("asking %s to verify: no sensor of that host is subscribed", rq.Host)
	case errors.Is(err, context.DeadlineExceeded):
		return reply, fmt.Errorf("asking %s to verify: no answer within %s (--timeout)", rq.Host, timeout)
	case err != nil:
		return reply, fmt.Errorf("asking %s to verify: %w", rq.Host, err)
	}
	if err := json.Unmarshal(m.Data, &reply); err != nil {
		return reply, fmt.Errorf("reading %s's answer %q: %w", rq.Host, m.Data, err)
	}
	if reply.Error != "" {
		return reply, fmt.Errorf("%s's sensor refused to verify: %s", rq.Host, reply.Error)
	}
	return reply, nil
}
