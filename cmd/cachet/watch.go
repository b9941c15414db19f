package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/cachetsync/cachet/gateway"
)

func init() {
	register(ledgerCommand("watch", "follow committed transitions live (resumable with --checkpoint)", "[flags]", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		checkpoint := fs.String("checkpoint", "", "file that records the last printed position; a restart resumes right after it")
		from := fs.Int64("from", -1, "start at this block when there is no checkpoint (default: the next block)")
		invalid := fs.Bool("invalid", false, "also print transactions the peers marked invalid")
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, _ []string, w io.Writer) error {
			cfg := gateway.FollowConfig{FromNewest: *from < 0, Checkpointer: &gateway.MemoryCheckpointer{}, IncludeInvalid: *invalid}
			if *from >= 0 {
				cfg.StartBlock = uint64(*from)
			}
			if *checkpoint != "" {
				fc, err := gateway.OpenFileCheckpointer(*checkpoint)
				if err != nil {
					return err
				}
				cfg.Checkpointer = fc
			}
			cfg.OnReconnect = func(err error, attempt int) {
				if !conn.asJSON {
					fmt.Fprintf(w, "# stream lost (%v); reconnecting, attempt %d\n", err, attempt)
				}
			}
			err := cl.Follow(ctx, cfg, func(_ context.Context, tx gateway.Transaction) error {
				return printTransaction(w, conn.asJSON, tx)
			})
			if ctx.Err() != nil {
				return nil // interrupted: the checkpoint holds the last printed position
			}
			return err
		}
	}))
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
