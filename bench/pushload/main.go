// Command pushload measures Cachet's push server against Centrifugo on the
// same machine, with one load generator for both: the same connections,
// channels and invalidation rate, timed from Kafka produce to client
// receive, and the servers' resident memory per idle connection.
//
//	pushload [flags]          run the bench and print the table and ratios
//	pushload scale [flags]    50,000 connections on several push instances: one- and many-channel fan-out
//	pushload worker [flags]   hold a share of the connections (started by the bench)
//
// See push/README.md, "Benchmark".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		err = runWorker(ctx, os.Args[2:], os.Stdin, os.Stdout)
	} else if len(os.Args) > 1 && os.Args[1] == "scale" {
		err = runScale(ctx, os.Args[2:], os.Stdout)
	} else {
		err = runBench(ctx, os.Args[1:], os.Stdout, nil)
	}
	if err != nil && !errors.Is(err, errHelp) {
		fmt.Fprintln(os.Stderr, "pushload:", err)
		os.Exit(1)
	}
}

var errHelp = errors.New("help requested")
