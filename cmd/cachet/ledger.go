package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

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
	if eff := e.Effective; eff != nil && eff.Purge != nil {
		s += fmt.Sprintf("  effective %s by purge %s generation %d (tx %.12s…)", eff.State, eff.Purge.Scope, eff.Purge.Generation, eff.Purge.TxID)
	}
	return s
}

func committedLine(c gateway.Committed) string {
	return fmt.Sprintf("tx %s in block %d", c.TxID, c.Block)
}

// ledgerCmd is a ledger command with the connection flags.
func ledgerCmd(use, short, example string, args cobra.PositionalArgs, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: args}
	conn.register(cmd.Flags())
	return cmd
}

func newPublishCmd() *cobra.Command {
	var conn connFlags
	var req gateway.PublishRequest
	var maxAge uint64
	cmd := ledgerCmd("publish [flags] KEY", "Create or republish a cache entry",
		`  cachet publish --config org1-publisher.json --tag catalog --max-age 300 --etag '"item-1-r0"' https://shop.example/items/1`,
		exactArgs(1, "KEY"), &conn)
	f := cmd.Flags()
	f.StringVar(&req.ETag, "etag", "", fmt.Sprintf("the entry's ETag (at most %d bytes)", ledger.MaxETagBytes))
	f.Uint64Var(&maxAge, "max-age", 0, fmt.Sprintf("max-age in seconds (at most %d)", ledger.MaxMaxAge))
	f.StringArrayVar(&req.Tags, "tag", nil, "a tag (repeat for more)")
	f.Uint64Var(&req.ExpectedVersion, "expect", 0, "refuse unless the entry is at this version (0: don't check)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		key, err := canonicalKey(args[0])
		if err != nil {
			return err
		}
		if maxAge > ledger.MaxMaxAge {
			return usagef("--max-age %d: at most %d seconds (365 days)", maxAge, ledger.MaxMaxAge)
		}
		if len(req.ETag) > ledger.MaxETagBytes {
			return usagef("--etag: %d bytes, at most %d", len(req.ETag), ledger.MaxETagBytes)
		}
		req.Key, req.MaxAge = key, uint32(maxAge)
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			e, done, err := cl.Publish(ctx, req)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), conn.asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "published "+entryLine(e)+"\n  "+committedLine(done))
		})
	}
	return cmd
}

func newInvalidateTagCmd() *cobra.Command {
	var conn connFlags
	var reason string
	var pageSize int
	cmd := ledgerCmd("invalidate-tag [flags] TAG", "Invalidate every entry carrying a tag, one bounded transaction per page",
		`  cachet invalidate-tag --config org1-invalidator.json --reason "catalog rebuild" catalog`,
		exactArgs(1, "TAG"), &conn)
	cmd.Flags().StringVar(&reason, "reason", "", fmt.Sprintf("why (recorded on the ledger, at most %d bytes)", ledger.MaxReasonBytes))
	cmd.Flags().IntVar(&pageSize, "page-size", ledger.MaxPageSize/2, fmt.Sprintf("keys per transaction (1-%d)", ledger.MaxPageSize))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkPageSize(pageSize); err != nil {
			return err
		}
		if err := checkReason(reason); err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
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
		})
	}
	return cmd
}

func newGetCmd() *cobra.Command {
	var conn connFlags
	cmd := ledgerCmd("get [flags] KEY...", "Read entries",
		`  cachet get --config org1-auditor.json https://shop.example/items/1
  cachet get --json https://shop.example/items/1 https://shop.example/items/2`,
		minArgs(1, "KEY"), &conn)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		keys, err := canonicalKeys(args)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			if len(keys) == 1 {
				e, err := cl.Get(ctx, keys[0])
				if err != nil {
					return err
				}
				return printResult(w, conn.asJSON, e, entryLine(e))
			}
			es, err := cl.GetMany(ctx, keys)
			if err != nil {
				return err
			}
			lines := make([]string, len(es))
			for i, e := range es {
				lines[i] = entryLine(e)
			}
			return printResult(w, conn.asJSON, es, strings.Join(lines, "\n"))
		})
	}
	return cmd
}

func newListCmd() *cobra.Command {
	var conn connFlags
	var tag, owner string
	var pageSize int
	cmd := ledgerCmd("list [flags] --tag TAG | --owner MSPID", "List entries by tag or by owner org",
		`  cachet list --config org1-auditor.json --tag catalog
  cachet list --owner Org1MSP --json`,
		cobra.NoArgs, &conn)
	cmd.Flags().StringVar(&tag, "tag", "", "entries carrying TAG")
	cmd.Flags().StringVar(&owner, "owner", "", "entries owned by MSPID")
	cmd.Flags().IntVar(&pageSize, "page-size", ledger.DefaultPage, fmt.Sprintf("entries per query (1-%d)", ledger.MaxPageSize))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if (tag == "") == (owner == "") {
			return usagef("list needs exactly one of --tag or --owner")
		}
		if err := checkPageSize(pageSize); err != nil {
			return err
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
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
			return printResult(cmd.OutOrStdout(), conn.asJSON, all, strings.Join(lines, "\n"))
		})
	}
	return cmd
}

func checkPageSize(n int) error {
	if n < 1 || n > ledger.MaxPageSize {
		return usagef("--page-size %d: want 1 to %d (the contract's limit)", n, ledger.MaxPageSize)
	}
	return nil
}

func checkReason(reason string) error {
	if len(reason) > ledger.MaxReasonBytes {
		return usagef("--reason: %d bytes, at most %d", len(reason), ledger.MaxReasonBytes)
	}
	return nil
}
