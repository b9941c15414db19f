package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

func newInvalidateCmd() *cobra.Command {
	var (
		conn             connFlags
		reason, fromFile string
		failedTo         string
		expect           uint64
		bulk             gateway.BulkConfig
		progress, soft   bool
	)
	cmd := ledgerCmd("invalidate [flags] KEY... | --from-file FILE",
		"Invalidate one key, many keys, or every key in a file; many keys are coalesced into batch transactions",
		`  cachet invalidate --config org1-invalidator.json --reason "price change" https://shop.example/items/1
  cachet invalidate --from-file keys.txt --failed-to failed.txt
  grep items/ keys.txt | cachet invalidate --from-file - --json`,
		cobra.ArbitraryArgs, &conn)
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why (recorded on the ledger)")
	f.Uint64Var(&expect, "expect", 0, "with one KEY: refuse unless the entry is at this version")
	f.StringVar(&fromFile, "from-file", "", "read keys from FILE, one per line, # comments ('-' for standard input)")
	f.StringVar(&failedTo, "failed-to", "", "with many keys: write the keys that failed to FILE, one per line, to retry with --from-file")
	f.DurationVar(&bulk.Coalescer.Window, "window", 0, "how long a batch waits for more keys (0: the coalescer's default)")
	f.IntVar(&bulk.Concurrency, "concurrency", gateway.DefaultBulkConcurrency, "keys waiting for their batch at once")
	f.BoolVar(&soft, "soft", false, "mark the KEYs STALE (serve while revalidating) instead of INVALIDATED: several KEYs go as one transaction")
	f.BoolVar(&progress, "progress", false, "print progress on stderr even when it is not a terminal")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkReason(reason); err != nil {
			return err
		}
		if bulk.Concurrency < 1 {
			return usagef("--concurrency %d: want at least 1", bulk.Concurrency)
		}
		keys, err := canonicalKeys(args)
		if err != nil {
			return err
		}
		if fromFile != "" {
			more, err := readKeys(fromFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			keys = append(keys, more...)
		}
		switch {
		case len(keys) == 0 && fromFile == "":
			return usagef("invalidate needs a KEY or --from-file")
		case len(keys) == 0:
			return usagef("--from-file %s holds no keys", fromFile)
		case expect != 0 && (len(keys) > 1 || fromFile != ""):
			return usagef("--expect goes with one KEY")
		case soft && (fromFile != "" || failedTo != ""):
			return usagef("--soft goes with KEY arguments, not --from-file or --failed-to")
		}
		w := cmd.OutOrStdout()
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			if soft {
				return invalidateSoft(ctx, cl, w, conn.asJSON, keys, reason, expect)
			}
			if len(keys) == 1 && fromFile == "" {
				e, done, err := cl.Invalidate(ctx, keys[0], reason, expect)
				if err != nil {
					return err
				}
				return printResult(w, conn.asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "invalidated "+entryLine(e)+"\n  "+committedLine(done))
			}
			if progress || isTerminal(cmd.ErrOrStderr()) {
				bulk.Progress = progressPrinter(cmd.ErrOrStderr())
			}
			res := gateway.InvalidateMany(ctx, cl.SubmitBatch, keys, reason, bulk)
			if bulk.Progress != nil {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			return reportBulk(w, cmd.ErrOrStderr(), conn.asJSON, len(keys), res, failedTo)
		})
	}
	return cmd
}

// invalidateSoft invalidates keys softly: one key with InvalidateSoft
// (which checks --expect), several as InvalidateBatchSoft transactions of
// at most ledger.MaxBatchKeys keys, in order; it stops at the first failure.
func invalidateSoft(ctx context.Context, cl *gateway.Client, w io.Writer, asJSON bool, keys []string, reason string, expect uint64) error {
	if len(keys) == 1 {
		e, done, err := cl.InvalidateSoft(ctx, keys[0], reason, expect)
		if err != nil {
			return err
		}
		return printResult(w, asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "soft-invalidated "+entryLine(e)+"\n  "+committedLine(done))
	}
	for chunk := range slices.Chunk(keys, ledger.MaxBatchKeys) {
		r, done, err := cl.InvalidateBatchSoft(ctx, chunk, reason)
		if err != nil {
			return err
		}
		var text strings.Builder
		for _, e := range r.Invalidated {
			fmt.Fprintf(&text, "soft-invalidated %s  v%d  %s\n", e.Key, e.Version, e.State)
		}
		for _, k := range r.Missing {
			fmt.Fprintf(&text, "missing %s (no entry)\n", k)
		}
		text.WriteString("  " + committedLine(done))
		if err := printResult(w, asJSON, map[string]any{"invalidated": r.Invalidated, "missing": r.Missing, "txId": done.TxID, "block": done.Block}, text.String()); err != nil {
			return err
		}
	}
	return nil
}

// progressPrinter rewrites one progress line about every 10% of the keys.
func progressPrinter(w io.Writer) func(done, total int) {
	return func(done, total int) {
		if done%max(total/10, 1) == 0 || done == total {
			fmt.Fprintf(w, "\r  %d/%d keys (%d%%)", done, total, done*100/total)
		}
	}
}

// reportBulk prints the summary, then the failed keys (on stderr, and to
// failedTo when set); any failure makes the command fail with the first.
func reportBulk(w, errw io.Writer, asJSON bool, n int, res gateway.BulkResult, failedTo string) error {
	failed := make([]string, len(res.Failed))
	for i, f := range res.Failed {
		failed[i] = f.Key
	}
	if failedTo != "" && len(failed) > 0 {
		if err := os.WriteFile(failedTo, []byte(strings.Join(failed, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	c := res.Counts
	summary := map[string]any{"keys": n, "invalidated": c[gateway.KeyInvalidated],
		"missing": c[gateway.KeyMissing], "failed": len(failed), "failedKeys": failed, "transactions": res.Transactions, "seconds": res.Elapsed.Seconds()}
	human := fmt.Sprintf("%d keys in %d transactions (%.0f keys/s): %d invalidated, %d missing, %d failed",
		n, res.Transactions, float64(n)/res.Elapsed.Seconds(), c[gateway.KeyInvalidated], c[gateway.KeyMissing], len(failed))
	if err := printResult(w, asJSON, summary, human); err != nil {
		return err
	}
	if len(res.Failed) == 0 {
		return nil
	}
	if !asJSON {
		fmt.Fprintf(errw, "failed keys (%d):\n", len(failed))
		for _, f := range res.Failed {
			fmt.Fprintf(errw, "  %s: %v\n", f.Key, f.Err)
		}
	}
	return fmt.Errorf("%d of %d keys failed; first %s: %w", len(failed), n, res.Failed[0].Key, res.Failed[0].Err)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
