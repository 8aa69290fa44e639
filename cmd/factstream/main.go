// Command factstream is the single binary of factstream: `factstream sensor` runs the node agent. See
// the shared DESIGN.md for the other subcommands to come (up, resolver, tail, replay).
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
	root.AddCommand(newSensorCmd())
	return root
}
