// Command cachet is Cachet's command-line tool and the home of its daemons.
// The command tree is built by newRootCmd (root.go), one function per
// command; exit statuses are chosen in one place, exitCode (exit.go).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the command line args on a fresh command tree, reports an
// error on stderr (as a JSON object under --json) and returns the exit
// status.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd, err := runArgs(ctx, args, stdout, stderr)
	if err == nil {
		return 0
	}
	reportError(stderr, err, jsonOutput(cmd))
	return exitCode(err)
}

// runArgs runs args on a fresh command tree and returns the command that
// ran (or failed to parse) and its error. An error from before the
// command's RunE (unknown command or flag, bad arguments, conflicting
// flags: cobra's checks) is made a usage error.
func runArgs(ctx context.Context, args []string, stdout, stderr io.Writer) (*cobra.Command, error) {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ran := false
	var mark func(c *cobra.Command)
	mark = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(c *cobra.Command, args []string) error { ran = true; return run(c, args) }
		}
		for _, sub := range c.Commands() {
			mark(sub)
		}
	}
	root.InitDefaultCompletionCmd()
	mark(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !ran {
		err = asUsage(err)
	}
	return cmd, err
}

// jsonOutput reports whether cmd was asked for JSON output.
func jsonOutput(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("json")
	return f != nil && f.Value.String() == "true"
}
