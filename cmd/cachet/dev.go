package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/telemetry"
)

func init() {
	register(command{name: "dev", summary: "run an embedded Kafka broker (and the daemons) for development", run: runDev})
}

// devEnv is what the in-process services of `cachet dev` share.
type devEnv struct {
	Kafka kafka.Config // the embedded broker
	Out   io.Writer
}

// devService is one daemon `cachet dev` can run in process once the broker
// is up. setup defines the service's flags (prefixed with its name, such as
// --push-listen) and returns its run function, which decides after parsing
// whether the service is on: it returns errDevOff at once when its flags
// leave it off. run blocks until ctx is done; an error stops the whole stack.
type devService struct {
	name  string
	setup func(fs *flag.FlagSet) func(ctx context.Context, env devEnv) error
}

// errDevOff is what a dev service returns when its flags leave it off.
var errDevOff = errors.New("off")

// devServices lists the daemons `cachet dev` can start. A daemon joins the
// stack by appending itself here from its own file's init.
var devServices []devService

type runningService struct {
	name string
	run  func(ctx context.Context, env devEnv) error
}

func runDev(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cachet dev", flag.ContinueOnError)
	port := fs.Int("port", 9092, "embedded broker port on 127.0.0.1 (0 picks a free one)")
	partitions := fs.Int("partitions", kafka.DefaultTransitionPartitions, "partitions of the transitions, reads and advice topics")
	dataDir := fs.String("data-dir", "", "keep the broker's data in this folder across restarts (default: memory only)")
	otlp := fs.String("otlp-endpoint", "", "OTLP/HTTP endpoint for the daemons' spans (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no export)")
	services := make([]runningService, len(devServices))
	for i, s := range devServices {
		services[i] = runningService{s.name, s.setup(fs)}
	}
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-dev", Endpoint: *otlp})
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx))
	opts := []embedded.Option{embedded.WithPort(*port), embedded.WithPartitions(*partitions)}
	if *dataDir != "" {
		opts = append(opts, embedded.WithDataDir(*dataDir))
	}
	b, err := embedded.Start(ctx, opts...)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(w, "kafka: embedded broker on %s (export CACHET_BROKERS=%s)\n", b.Addr(), b.Addr())
	return runDevServices(ctx, devEnv{Kafka: b.Config("cachet-dev"), Out: w}, services)
}

// runDevServices runs every service until ctx is done or one fails, then
// stops the others and returns the first failure.
// A service that reports errDevOff is left out; each prints its own
// "started" line with what it serves.
func runDevServices(ctx context.Context, env devEnv, services []runningService) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.run(ctx, env)
			switch {
			case errors.Is(err, errDevOff):
				fmt.Fprintf(env.Out, "%s: off (cachet dev -h shows its flags)\n", s.name)
			case err != nil && ctx.Err() == nil:
				cancel(fmt.Errorf("%s: %w", s.name, err))
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// flagSet reports whether the command line set flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// devListen listens on addr, the --<name>-listen address of a dev service.
// On its default address, already taken (another cachet dev, a test), the
// service stays off (errDevOff) rather than stopping the stack; an address
// asked for must work.
func devListen(fs *flag.FlagSet, name, addr string, out io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil && !flagSet(fs, name+"-listen") && errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(out, "%s: %s is in use\n", name, addr)
		return nil, errDevOff
	}
	return ln, err
}
