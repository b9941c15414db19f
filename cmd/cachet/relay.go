package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/relay"
)

func init() {
	register(ledgerCommand("relay", "produce every committed transition to Kafka (cachet.transitions), resuming from a checkpoint", "[flags]", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		brokers := fs.String("brokers", envOr("CACHET_BROKERS", "127.0.0.1:9092"), "Kafka bootstrap servers (env CACHET_BROKERS)")
		checkpoint := fs.String("checkpoint", envOr("CACHET_RELAY_CHECKPOINT", "cachet-relay.checkpoint"), "file holding the last relayed ledger position (env CACHET_RELAY_CHECKPOINT)")
		from := fs.Uint64("from", 0, "first block to relay when the checkpoint is empty")
		partitions := fs.Int("partitions", kafka.DefaultTransitionPartitions, "partitions of Cachet's topics when they must be created")
		replication := fs.Int("replication", 1, "replication factor of Cachet's topics when they must be created")
		return func(ctx context.Context, cl *gateway.Client, _ *connFlags, _ []string, w io.Writer) error {
			cp, err := gateway.OpenFileCheckpointer(*checkpoint)
			if err != nil {
				return err
			}
			cfg := kafka.Config{Brokers: *brokers, ClientID: "cachet-relay"}
			if err := kafka.EnsureTopics(ctx, cfg, kafka.CachetTopics(*partitions, *replication)); err != nil {
				return err
			}
			prod, err := kafka.NewProducer(cfg, "")
			if err != nil {
				return err
			}
			defer prod.Close()
			go func() { // errors not tied to a message (broker down) are logged; delivery reports go per message
				for ev := range prod.Events() {
					if e, ok := ev.(error); ok {
						slog.Warn("kafka", "err", e)
					}
				}
			}()
			r, err := relay.New(relay.Config{Source: cl, Producer: prod, Checkpointer: cp, StartBlock: *from,
				Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
			if err != nil {
				return err
			}
			pos, have := cp.Last()
			if have {
				fmt.Fprintf(w, "relay: resuming after %s to %s\n", pos, *brokers)
			} else {
				fmt.Fprintf(w, "relay: starting at block %d to %s\n", *from, *brokers)
			}
			err = r.Run(ctx)
			fmt.Fprintf(w, "relay: %d transactions, %d records, %d invalid skipped, %d dead letters, %d retries\n",
				r.Stats.Transactions.Load(), r.Stats.Records.Load(), r.Stats.Invalid.Load(), r.Stats.DeadLetters.Load(), r.Stats.Retries.Load())
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}))
}
