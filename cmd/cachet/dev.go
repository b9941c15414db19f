package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/telemetry"
)

// devEnv is what the in-process services of `cachet dev` share.
type devEnv struct {
	Kafka kafka.Config // the embedded broker
	Out   io.Writer
	Log   *slog.Logger // --log-format, --log-level
}

// devService is one daemon `cachet dev` can run in process once the broker
// is up. setup defines the service's flags (prefixed with its name, such as
// --push-listen) and returns its run function, which decides after parsing
// whether the service is on: it returns errDevOff at once when its flags
// leave it off. run blocks until ctx is done; an error stops the whole stack.
type devService struct {
	name  string
	setup func(fs *pflag.FlagSet) func(ctx context.Context, env devEnv) error
}

// errDevOff is what a dev service returns when its flags leave it off.
var errDevOff = errors.New("off")

// devServices lists the daemons `cachet dev` can start.
func devServices() []devService {
	return []devService{relayDevService(), pushDevService(), analyticsDevService(), originDevService(), apiDevService()}
}

type runningService struct {
	name string
	run  func(ctx context.Context, env devEnv) error
}

func newDevCmd() *cobra.Command {
	var (
		port, partitions int
		dataDir, otlp    string
		lf               logFlags
	)
	cmd := &cobra.Command{
		Use:   "dev [flags]",
		Short: "Run an embedded Kafka broker and the daemons (relay, push, analytics, demo origin, purge API) for development",
		Example: `  cachet dev
  cachet dev --port 0 --relay-profile org1-auditor.json --log-level debug
  cachet dev --relay-profile org1-auditor.json --api-profile org1-publisher.json --api-tokens tokens.json
  cachet dev --push-listen "" --origin-listen ""   # the broker alone`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.IntVar(&port, "port", kafka.DefaultPort, "embedded broker port on 127.0.0.1 (0 picks a free one)")
	f.IntVar(&partitions, "partitions", kafka.DefaultTransitionPartitions, "partitions of the transitions, reads and advice topics")
	f.StringVar(&dataDir, "data-dir", "", "keep the broker's data in this folder across restarts (default: memory only)")
	f.StringVar(&otlp, "otlp-endpoint", "", "OTLP/HTTP endpoint for the daemons' spans (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no export)")
	lf.register(f, slog.LevelWarn)
	var services []runningService
	for _, s := range devServices() {
		services = append(services, runningService{s.name, s.setup(f)})
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if port < 0 || port > 65535 {
			return usagef("--port %d: want 0 to 65535", port)
		}
		if partitions < 1 {
			return usagef("--partitions %d: want at least 1", partitions)
		}
		log, err := lf.logger(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		ctx, w := cmd.Context(), cmd.OutOrStdout()
		shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-dev", Endpoint: otlp})
		if err != nil {
			return err
		}
		defer shutdown(context.WithoutCancel(ctx))
		opts := []embedded.Option{embedded.WithPort(port), embedded.WithPartitions(partitions)}
		if dataDir != "" {
			opts = append(opts, embedded.WithDataDir(dataDir))
		}
		b, err := embedded.Start(ctx, opts...)
		if err != nil {
			return err
		}
		defer b.Close()
		fmt.Fprintf(w, "kafka: embedded broker on %s (export CACHET_BROKERS=%s)\n", b.Addr(), b.Addr())
		return runDevServices(ctx, devEnv{Kafka: b.Config("cachet-dev"), Out: w, Log: log}, services)
	}
	return cmd
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

// devListen listens on addr, the --<name>-listen address of a dev service.
// On its default address, already taken (another cachet dev, a test), the
// service stays off (errDevOff) rather than stopping the stack; an address
// asked for must work.
func devListen(fs *pflag.FlagSet, name, addr string, out io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil && !flagChanged(fs, name+"-listen") && errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(out, "%s: %s is in use\n", name, addr)
		return nil, errDevOff
	}
	return ln, err
}
