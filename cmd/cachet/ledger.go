package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/telemetry"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// ledgerCommand builds a subcommand that parses flags, connects and runs.
func ledgerCommand(name, summary, usage string, setup func(fs *flag.FlagSet) func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error) command {
	return command{name: name, summary: summary, run: func(ctx context.Context, args []string, w io.Writer) error {
		fs := flag.NewFlagSet("cachet "+name, flag.ContinueOnError)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: cachet %s %s\n\n%s\n\nflags:\n", name, usage, summary)
			fs.PrintDefaults()
		}
		var conn connFlags
		conn.register(fs)
		run := setup(fs)
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil
			}
			return usageError{err.Error()}
		}
		// Spans of submits go where OTEL_EXPORTER_OTLP_ENDPOINT says (none: no
		// export, and no trace context reaches the ledger event).
		shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-cli"})
		if err != nil {
			return err
		}
		defer shutdown(context.WithoutCancel(ctx))
		cl, err := conn.connect()
		if err != nil {
			return err
		}
		defer cl.Close()
		return classify(run(ctx, cl, &conn, fs.Args(), w))
	}}
}

func printResult(w io.Writer, asJSON bool, v any, human string) error {
	if asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(w, human)
	return err
}

func entryLine(e gateway.Entry) string {
	s := fmt.Sprintf("%s  v%d  %s  owner %s", e.Key, e.Version, e.State, e.Owner)
	if len(e.Tags) > 0 {
		s += "  tags " + strings.Join(e.Tags, ",")
	}
	return s
}

func committedLine(c gateway.Committed) string {
	return fmt.Sprintf("tx %s in block %d", c.TxID, c.Block)
}

func init() {
	register(ledgerCommand("publish", "create or republish a cache entry", "[flags] KEY", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		var req gateway.PublishRequest
		var tags stringList
		var maxAge uint
		fs.StringVar(&req.ETag, "etag", "", "the entry's ETag")
		fs.UintVar(&maxAge, "max-age", 0, "max-age in seconds")
		fs.Var(&tags, "tag", "a tag (repeat for more)")
		fs.Uint64Var(&req.ExpectedVersion, "expect", 0, "refuse unless the entry is at this version (0: don't check)")
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error {
			if len(args) != 1 {
				return usageError{"publish takes one KEY"}
			}
			req.Key, req.Tags, req.MaxAge = args[0], tags, uint32(maxAge)
			e, done, err := cl.Publish(ctx, req)
			if err != nil {
				return err
			}
			return printResult(w, conn.asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "published "+entryLine(e)+"\n  "+committedLine(done))
		}
	}))

	register(ledgerCommand("invalidate", "invalidate one key, many keys, or every key in a file (one per line); many keys are coalesced into batch transactions", "[flags] KEY... | --from-file FILE", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		var reason, fromFile string
		var expect uint64
		var window time.Duration
		fs.StringVar(&reason, "reason", "", "why (recorded on the ledger)")
		fs.Uint64Var(&expect, "expect", 0, "with one KEY: refuse unless the entry is at this version")
		fs.StringVar(&fromFile, "from-file", "", "read keys from FILE, one per line ('-' for standard input)")
		fs.DurationVar(&window, "window", 5*time.Millisecond, "how long a batch waits for more keys")
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error {
			keys := args
			if fromFile != "" {
				var err error
				if keys, err = readKeys(fromFile); err != nil {
					return err
				}
			}
			switch {
			case len(keys) == 0:
				return usageError{"invalidate needs a KEY or --from-file"}
			case len(keys) == 1 && fromFile == "":
				e, done, err := cl.Invalidate(ctx, keys[0], reason, expect)
				if err != nil {
					return err
				}
				return printResult(w, conn.asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "invalidated "+entryLine(e)+"\n  "+committedLine(done))
			}
			return invalidateMany(ctx, cl, conn, keys, reason, window, w)
		}
	}))

	register(ledgerCommand("invalidate-tag", "invalidate every entry carrying a tag, one bounded transaction per page", "[flags] TAG", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		var reason string
		var pageSize int
		fs.StringVar(&reason, "reason", "", "why (recorded on the ledger)")
		fs.IntVar(&pageSize, "page-size", 500, "keys per transaction (1-1000)")
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error {
			if len(args) != 1 {
				return usageError{"invalidate-tag takes one TAG"}
			}
			var pages []gateway.TagProgress
			total, err := cl.InvalidateTag(ctx, args[0], reason, int32(pageSize), func(p gateway.TagProgress) {
				pages = append(pages, p)
				if !conn.asJSON {
					fmt.Fprintf(w, "  page %d: %d invalidated (%s)\n", len(pages), p.Invalidated, committedLine(p.Committed))
				}
			})
			if err != nil {
				return err
			}
			return printResult(w, conn.asJSON, map[string]any{"tag": args[0], "invalidated": total, "transactions": len(pages)}, fmt.Sprintf("invalidated %d entries tagged %s in %d transactions", total, args[0], len(pages)))
		}
	}))

	register(ledgerCommand("purge", "delete an entry's state (its history stays)", "[flags] KEY", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		var expect uint64
		fs.Uint64Var(&expect, "expect", 0, "refuse unless the entry is at this version")
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error {
			if len(args) != 1 {
				return usageError{"purge takes one KEY"}
			}
			e, done, err := cl.Purge(ctx, args[0], expect)
			if err != nil {
				return err
			}
			return printResult(w, conn.asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "purged "+entryLine(e)+"\n  "+committedLine(done))
		}
	}))

	register(ledgerCommand("get", "read entries", "[flags] KEY...", func(*flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error {
			switch len(args) {
			case 0:
				return usageError{"get takes at least one KEY"}
			case 1:
				e, err := cl.Get(ctx, args[0])
				if err != nil {
					return err
				}
				return printResult(w, conn.asJSON, e, entryLine(e))
			}
			es, err := cl.GetMany(ctx, args)
			if err != nil {
				return err
			}
			lines := make([]string, len(es))
			for i, e := range es {
				lines[i] = entryLine(e)
			}
			return printResult(w, conn.asJSON, es, strings.Join(lines, "\n"))
		}
	}))

	register(ledgerCommand("history", "every committed change of a key, oldest first", "[flags] KEY", func(*flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, args []string, w io.Writer) error {
			if len(args) != 1 {
				return usageError{"history takes one KEY"}
			}
			h, err := cl.History(ctx, args[0])
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, it := range h {
				if it.IsDelete {
					fmt.Fprintf(&b, "%s  purged  tx %s\n", it.Timestamp, it.TxID)
				} else {
					fmt.Fprintf(&b, "%s  v%d %s  tx %s\n", it.Timestamp, it.Entry.Version, it.Entry.State, it.TxID)
				}
			}
			return printResult(w, conn.asJSON, h, strings.TrimRight(b.String(), "\n"))
		}
	}))

	register(ledgerCommand("list", "list entries by tag or by owner org", "[flags] --tag TAG | --owner MSPID", func(fs *flag.FlagSet) func(context.Context, *gateway.Client, *connFlags, []string, io.Writer) error {
		var tag, owner string
		var pageSize int
		fs.StringVar(&tag, "tag", "", "entries carrying TAG")
		fs.StringVar(&owner, "owner", "", "entries owned by MSPID")
		fs.IntVar(&pageSize, "page-size", 100, "entries per query")
		return func(ctx context.Context, cl *gateway.Client, conn *connFlags, _ []string, w io.Writer) error {
			if (tag == "") == (owner == "") {
				return usageError{"list needs exactly one of --tag or --owner"}
			}
			var all []gateway.Entry
			bookmark := ""
			for {
				var p gateway.Page
				var err error
				if tag != "" {
					p, err = cl.ListByTag(ctx, tag, bookmark, int32(pageSize))
				} else {
					p, err = cl.ListByOwner(ctx, owner, bookmark, int32(pageSize))
				}
				if err != nil {
					return err
				}
				all = append(all, p.Entries...)
				if bookmark = p.Bookmark; bookmark == "" {
					break
				}
			}
			lines := make([]string, len(all))
			for i, e := range all {
				lines[i] = entryLine(e)
			}
			return printResult(w, conn.asJSON, all, strings.Join(lines, "\n"))
		}
	}))
}

func readKeys(path string) ([]string, error) {
	f := os.Stdin
	if path != "-" {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	var keys []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
	}
	return keys, sc.Err()
}

// invalidateMany sends every key through a coalescer, many callers at a
// time, with a progress line on a terminal-less writer every 10%.
func invalidateMany(ctx context.Context, cl *gateway.Client, conn *connFlags, keys []string, reason string, window time.Duration, w io.Writer) error {
	co := gateway.NewCoalescer(cl.SubmitBatch, gateway.CoalescerConfig{Window: window})
	defer co.Close()
	var (
		done, failed atomic.Int64
		mu           sync.Mutex
		firstErr     error
		counts       = map[gateway.KeyStatus]int{}
		wg           sync.WaitGroup
		sem          = make(chan struct{}, 2000)
	)
	start := time.Now()
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := co.Invalidate(ctx, k, reason)
			mu.Lock()
			if err != nil {
				failed.Add(1)
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", k, err)
				}
			} else {
				counts[r.Status]++
			}
			mu.Unlock()
			n := done.Add(1)
			if !conn.asJSON && n%max(int64(len(keys)/10), 1) == 0 {
				fmt.Fprintf(w, "\r  %d/%d keys (%d%%)", n, len(keys), n*100/int64(len(keys)))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if !conn.asJSON {
		fmt.Fprintln(w)
	}
	summary := map[string]any{"keys": len(keys), "invalidated": counts[gateway.KeyInvalidated],
		"missing": counts[gateway.KeyMissing], "failed": failed.Load(), "transactions": co.Batches(), "seconds": elapsed.Seconds()}
	human := fmt.Sprintf("%d keys in %d transactions (%.0f keys/s): %d invalidated, %d missing, %d failed",
		len(keys), co.Batches(), float64(len(keys))/elapsed.Seconds(), counts[gateway.KeyInvalidated], counts[gateway.KeyMissing], failed.Load())
	if err := printResult(w, conn.asJSON, summary, human); err != nil {
		return err
	}
	return firstErr
}
