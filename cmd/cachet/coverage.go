package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/coverage"
)

// envAnalyticsURL names the environment variable --analytics defaults to.
const envAnalyticsURL = "CACHET_ANALYTICS_URL"

func newCoverageCmd() *cobra.Command {
	var (
		base    string
		timeout time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "coverage TXID [flags]",
		Short: "Print which browsers acknowledged a ledger transaction's evictions, and how late",
		Long: `coverage asks an analytics daemon (its --listen address, or cachet dev's
--analytics-listen) for the proof of propagation of a ledger transaction: for
each key@version it wrote, how many distinct clients reported evicting their
copy, how many of those receipts were dated before the commit (skewed clocks),
and the commit → eviction lag (p50, p99, max). Exit 1 when the transaction is
not in the daemon's coverage window.`,
		Example: `  cachet coverage 3f9a…e1 --analytics http://127.0.0.1:9465
  CACHET_ANALYTICS_URL=http://analytics:9465 cachet coverage 3f9a…e1 --json`,
		Args: exactArgs(1, "TXID"),
	}
	f := cmd.Flags()
	f.StringVar(&base, "analytics", envOr(envAnalyticsURL, ""), "analytics daemon's ops URL, e.g. http://127.0.0.1:9465 (env "+envAnalyticsURL+")")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the answer")
	f.BoolVar(&asJSON, "json", false, "print the report, and errors, as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		txID := args[0]
		if b, err := hex.DecodeString(txID); err != nil || len(b) != 32 {
			return usagef("TXID %q: want a ledger transaction ID, 64 hex digits", txID)
		}
		if base == "" {
			return usagef("--analytics: want the analytics daemon's URL (or set %s)", envAnalyticsURL)
		}
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--analytics %q: want an http:// or https:// URL", base)
		}
		if timeout <= 0 {
			return usagef("--timeout %s: want a positive duration", timeout)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		rep, err := (&coverage.Client{Base: base}).Tx(ctx, txID)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
		}
		printCoverage(cmd.OutOrStdout(), rep)
		return nil
	}
	return cmd
}

// printCoverage writes one line per transition, then the window's line.
func printCoverage(w io.Writer, rep coverage.Report) {
	for _, t := range rep.Transitions {
		fmt.Fprintf(w, "%s@%d committed %s  clients %d (skewed %d)  lag p50 %s p99 %s max %s\n",
			t.Key, t.Version, t.CommittedAt.UTC().Format(time.RFC3339Nano), t.Clients, t.Skewed, t.Lag.P50, t.Lag.P99, t.Lag.Max)
	}
	win := rep.Window
	fmt.Fprintf(w, "window: %d transitions of at most %d, none older than %s", win.Transitions, win.MaxTransitions,
		time.Duration(win.MaxAgeSeconds*float64(time.Second)))
	if !win.Oldest.IsZero() {
		fmt.Fprintf(w, ", committed %s to %s", win.Oldest.UTC().Format(time.RFC3339), win.Newest.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
}
