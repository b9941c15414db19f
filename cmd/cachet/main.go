// Command cachet is Cachet's command-line tool and the home of its daemons:
// each subcommand lives in its own file and registers itself here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of cachet.
type command struct {
	name    string
	summary string
	// run executes the subcommand; ctx is cancelled on SIGINT or SIGTERM.
	run func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = map[string]command{}

// register adds a subcommand; subcommand files call it from init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("cachet: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

// exitCoder is implemented by errors that choose the process exit status, so
// scripts can tell a refusal from a conflict from a connectivity failure.
type exitCoder interface{ ExitCode() int }

// Exit statuses shared by all subcommands.
const (
	exitFailure = 1 // anything not classified below
	exitUsage   = 2 // bad flags or arguments
)

// usageError marks a mistake in how cachet was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (usageError) ExitCode() int   { return exitUsage }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cachet:", err)
		code := exitFailure
		var ec exitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		os.Exit(code)
	}
}

func dispatch(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q (cachet help lists them)", args[0])}
	}
	return c.run(ctx, args[1:], stdout)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cachet <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'cachet <command> -h' for a command's flags.")
}
