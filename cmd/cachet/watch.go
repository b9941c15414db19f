package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cachetsync/cachet/gateway"
)

func init() {
	ledger := ledgerCommand("watch", "follow transitions live: from the ledger (default), --kafka or --push", "[--kafka|--push] [flags]", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
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
	})
	register(command{name: ledger.name, summary: ledger.summary, run: func(ctx context.Context, args []string, w io.Writer) error {
		if src, rest, ok := watchSource(args); ok {
			return classify(src.run(ctx, rest, w))
		}
		return ledger.run(ctx, args, w)
	}})
}

// watchSources are the streams `cachet watch` can follow besides the ledger,
// each selected by its flag (--kafka, --push) and registered from its own
// file. A source's run gets the remaining arguments, its flag removed.
var watchSources = map[string]command{}

// watchSource finds the source named by a leading-or-anywhere --<name> flag.
func watchSource(args []string) (command, []string, bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		name := strings.TrimLeft(a, "-")
		if src, ok := watchSources[name]; ok && strings.HasPrefix(a, "-") {
			rest := append(append([]string{}, args[:i]...), args[i+1:]...)
			return src, rest, true
		}
	}
	return command{}, nil, false
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
