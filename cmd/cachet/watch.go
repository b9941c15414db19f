package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
)

func newWatchCmd() *cobra.Command {
	var (
		conn                connFlags
		checkpoint          string
		from                int64
		invalid             bool
		fromKafka, fromPush bool
		kf                  kafkaFlags
		fromBeginning       bool
		pf                  watchPushFlags
	)
	cmd := ledgerCmd("watch [--kafka | --push] [flags]",
		"Follow transitions live: from the ledger (default), from Kafka (--kafka) or from a push server (--push)",
		`  cachet watch --config org1-auditor.json --checkpoint watch.pos
  cachet watch --kafka --brokers 127.0.0.1:9092 --from-beginning --json
  cachet watch --push --jwt-secret cachet-dev-secret --channels origin:http://127.0.0.1:8080`,
		cobra.NoArgs, &conn)
	f := cmd.Flags()
	f.BoolVar(&fromKafka, "kafka", false, "follow cachet.transitions, cachet.purges and cachet.conflicts (refused transactions) on Kafka (read_committed) instead of the ledger")
	f.BoolVar(&fromPush, "push", false, "follow a push server over WebSocket, as a browser does, instead of the ledger")
	cmd.MarkFlagsMutuallyExclusive("kafka", "push")
	f.StringVar(&checkpoint, "checkpoint", "", "ledger: file that records the last printed position; a restart resumes right after it")
	f.Int64Var(&from, "from", -1, "ledger: start at this block when there is no checkpoint (default: the next block)")
	f.BoolVar(&invalid, "invalid", false, "ledger: also print transactions the peers marked invalid")
	kf.register(f, kafka.DefaultBrokers)
	f.BoolVar(&fromBeginning, "from-beginning", false, "kafka: print the topic from its start (default: only new records)")
	pf.register(f)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, w, errw := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
		switch {
		case fromKafka:
			return runWatchKafka(ctx, &kf, fromBeginning, conn.asJSON, w)
		case fromPush:
			wp, err := pf.watcher(conn.asJSON, w, errw)
			if err != nil {
				return err
			}
			return wp.run(ctx)
		}
		if from < -1 {
			return usagef("--from %d: want a block number (or -1: the next block)", from)
		}
		cfg := gateway.FollowConfig{FromNewest: from < 0, Checkpointer: &gateway.MemoryCheckpointer{}, IncludeInvalid: invalid}
		if from >= 0 {
			cfg.StartBlock = uint64(from)
		}
		if checkpoint != "" {
			fc, err := gateway.OpenFileCheckpointer(checkpoint)
			if err != nil {
				return err
			}
			cfg.Checkpointer = fc
		}
		// Reported on stderr whatever the output format: a watch never goes
		// silent without saying why.
		cfg.OnReconnect = func(err error, attempt int) {
			fmt.Fprintf(errw, "cachet watch: stream lost (%v); reconnecting, attempt %d\n", err, attempt)
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			err := cl.Follow(ctx, cfg, func(_ context.Context, tx gateway.Transaction) error {
				return printTransaction(w, conn.asJSON, tx)
			})
			if ctx.Err() != nil {
				return nil // interrupted: the checkpoint holds the last printed position
			}
			return err
		})
	}
	return cmd
}

// printTransaction writes one line per transition (or one for an invalid or
// unreadable transaction), as text or JSON.
func printTransaction(w io.Writer, asJSON bool, tx gateway.Transaction) error {
	enc := json.NewEncoder(w)
	out := func(v any, human string) error {
		if asJSON {
			return enc.Encode(v)
		}
		_, err := fmt.Fprintln(w, human)
		return err
	}
	switch {
	case !tx.Valid:
		return out(map[string]any{"position": tx.Position, "txId": tx.TxID, "invalid": tx.Code.String()},
			fmt.Sprintf("%-8s INVALID %s  tx %s", tx.Position, tx.Code, tx.TxID))
	case tx.EventErr != nil:
		return out(map[string]any{"position": tx.Position, "txId": tx.TxID, "error": tx.EventErr.Error()},
			fmt.Sprintf("%-8s UNREADABLE EVENT %v", tx.Position, tx.EventErr))
	case tx.Event == nil:
		return nil
	}
	for _, t := range tx.Event.Transitions {
		if err := out(map[string]any{"position": tx.Position, "txId": tx.TxID, "actor": tx.Event.Actor, "transition": t},
			fmt.Sprintf("%-8s %-10s %s  v%d %s  owner %s  by %s  %s", tx.Position, t.Op, t.Key, t.Version, t.State, t.Owner, tx.Event.Actor, t.Reason)); err != nil {
			return err
		}
	}
	return nil
}
