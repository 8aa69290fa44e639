// Command factstream is the single binary of factstream: `factstream up` runs everything on one machine
// (embedded NATS, sensor, resolver, live output), `factstream sensor` the node agent, `factstream
// resolver` a resolver worker, `factstream tail` prints enriched events with filters. The forensic
// commands replay a host from FACT_RAW: `factstream replay` rebuilds its inode→path index as of a
// moment (which paths did an inode have then), `factstream history` prints what happened under a path
// during a period, as the resolvers published it. `factstream status` shows the streams, the
// partitions with their owners and lag, and the sensors. `factstream verify` asks a sensor to rescan and
// hash its monitored files, for drift.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "factstream:", err)
		os.Exit(1)
	}
}

// run executes the command line; SIGINT and SIGTERM end the command's context.
func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return newRootCmd().ExecuteContext(ctx)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "factstream",
		Short:         "File-activity monitoring: eBPF probes, a sensor, NATS JetStream",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newUpCmd(), newSensorCmd(), newResolverCmd(), newTailCmd(), newReplayCmd(), newHistoryCmd(), newDiffCmd(),
		newStatusCmd(), newVerifyCmd())
	return root
}
