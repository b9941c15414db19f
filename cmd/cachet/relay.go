package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/relay"
	"github.com/cachetsync/cachet/telemetry"
)

// relayFlags are the flags `cachet relay` and `cachet dev --relay-…` share.
type relayFlags struct {
	from                    uint64
	partitions, replication int
	metricsListen           string
	maxRecords              int
	linger                  time.Duration
	instanceID              string
}

func (f *relayFlags) register(fs *pflag.FlagSet, prefix string) {
	d := relay.DefaultConfig()
	fs.Uint64Var(&f.from, prefix+"from", d.StartBlock, "first block to relay when cachet.positions holds no position for the channel")
	fs.IntVar(&f.maxRecords, prefix+"max-records", d.MaxRecords, "records per Kafka transaction (a ledger transaction is never split)")
	fs.DurationVar(&f.linger, prefix+"linger", d.Linger, "longest a Kafka transaction stays open to gather more ledger transactions (0: commit as soon as none is waiting)")
	fs.StringVar(&f.metricsListen, prefix+"metrics-listen", "", "address serving Prometheus /metrics and the health check /healthz (empty: off)")
	fs.StringVar(&f.instanceID, prefix+"instance-id", getenv("CACHET_RELAY_INSTANCE"), "stable name of this relay among the channel's relays (env CACHET_RELAY_INSTANCE): a restart with the same name resumes leading at once")
}

func (f *relayFlags) check(prefix string) error {
	if f.maxRecords < 1 {
		return usagef("--%smax-records %d: want at least 1", prefix, f.maxRecords)
	}
	if f.linger < 0 {
		return usagef("--%slinger %s: want 0 or more", prefix, f.linger)
	}
	return nil
}

func newRelayCmd() *cobra.Command {
	var (
		conn connFlags
		kf   kafkaFlags
		rf   relayFlags
		lf   logFlags
		otlp string
	)
	cmd := ledgerCmd("relay [flags]",
		"Produce every committed transition to Kafka exactly once (cachet.transitions); several instances: one leads",
		`  cachet relay --config org1-auditor.json --brokers kafka-0:9092 --metrics-listen :9464
  cachet relay --config org1-auditor.json --instance-id relay-a --log-format json`,
		cobra.NoArgs, &conn)
	f := cmd.Flags()
	kf.register(f, kafka.DefaultBrokers)
	f.StringVar(&otlp, "otlp-endpoint", getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "OTLP/HTTP endpoint for spans (env OTEL_EXPORTER_OTLP_ENDPOINT; empty: no export); the spans' resource takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES")
	rf.register(f, "")
	f.IntVar(&rf.partitions, "partitions", kafka.DefaultTransitionPartitions, "partitions of Cachet's topics when they must be created")
	f.IntVar(&rf.replication, "replication", kafka.DefaultReplication, "replication factor of Cachet's topics when they must be created")
	lf.register(f, slog.LevelInfo)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := rf.check(""); err != nil {
			return err
		}
		if rf.partitions < 1 || rf.replication < 1 {
			return usagef("--partitions %d, --replication %d: want at least 1 each", rf.partitions, rf.replication)
		}
		log, err := lf.logger(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		cfg, err := kf.config("cachet-relay")
		if err != nil {
			return err
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-relay", Endpoint: otlp})
			if err != nil {
				return err
			}
			defer shutdown(context.WithoutCancel(ctx))
			if err := pingKafka(ctx, cfg); err != nil {
				return err
			}
			if err := kafka.EnsureTopics(ctx, cfg, kafka.CachetTopics(rf.partitions, rf.replication)); err != nil {
				return err
			}
			return runRelay(ctx, cl, cl.Height, cl.Channel(), cfg, rf, log, cmd.OutOrStdout())
		})
	}
	return cmd
}

// runRelay relays src's channel to Kafka until ctx ends, serving metrics
// if asked, and prints a summary.
func runRelay(ctx context.Context, src relay.Source, height func(context.Context) (uint64, error), channel string,
	cfg kafka.Config, rf relayFlags, log *slog.Logger, w io.Writer) error {
	r, err := relay.New(relay.Config{Source: src, Kafka: cfg, Channel: channel, StartBlock: rf.from,
		MaxRecords: rf.maxRecords, Linger: rf.linger, Height: height, InstanceID: rf.instanceID, Log: log})
	if err != nil {
		return err
	}
	if rf.metricsListen != "" {
		addr, stop, err := serveOps(rf.metricsListen, r.HealthHandler(), nil, r.Collectors()...)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(w, "relay: metrics on http://%s/metrics\n", addr)
	}
	fmt.Fprintf(w, "relay: channel %s to %s (transactional.id %s)\n", channel, cfg.Brokers, relay.TransactionalID(channel))
	err = r.Run(ctx)
	s := &r.Stats
	fmt.Fprintf(w, "relay: %d ledger transactions, %d records in %d Kafka transactions, %d invalid skipped, %d dead letters, %d retries\n",
		s.Transactions.Load(), s.Records.Load(), s.KafkaTransactions.Load(), s.Invalid.Load(), s.DeadLetters.Load(), s.Retries.Load())
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
