package main

import (
	"fmt"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/spf13/pflag"
)

// What `replay` and `history` share: the host flag, times given as RFC 3339 or a duration ago, and the
// replay's progress.

// forensicOptions are the flags of the commands that replay a host from FACT_RAW.
type forensicOptions struct {
	client     clientOptions
	host       string
	json       bool
	noProgress bool
	lateness   time.Duration
}

func (o *forensicOptions) bind(fs *pflag.FlagSet) {
	o.client.bind(fs)
	fs.StringVar(&o.host, "host", "", "the host to replay, as its sensor names it (required)")
	fs.BoolVar(&o.json, "json", false, "print JSON (default when stdout is not a terminal)")
	fs.BoolVar(&o.noProgress, "no-progress", false, "do not report the replay's progress on stderr")
	fs.DurationVar(&o.lateness, "lateness", 0, "how long a file event waits for the process events before it, as the resolvers' setting (default: the resolver's default)")
}

// validate checks the shared flags.
func (o *forensicOptions) validate() error {
	if o.host == "" {
		return fmt.Errorf("--host is required: the host whose events to replay")
	}
	if err := (client.Filter{Hosts: []string{o.host}}).Validate(); err != nil {
		return flagErrors(err)
	}
	if o.lateness < 0 {
		return fmt.Errorf("--lateness %s: must not be negative", o.lateness)
	}
	return nil
}

// momentHelp describes the values a time flag takes.
const momentHelp = "RFC 3339 (2026-11-25T13:00:00Z) or a duration ago (10m)"

// parseMoment reads the value of time flag name: empty is the zero time, a non-negative duration is that
// long before now, anything else must be RFC 3339.
func parseMoment(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, ok := client.ParseTime(v, now)
	if !ok {
		return time.Time{}, fmt.Errorf("--%s %q: want %s", name, v, momentHelp)
	}
	return t, nil
}
