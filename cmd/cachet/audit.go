package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/audit"
	"github.com/cachetsync/cachet/gateway"
)

// auditOpts are the block-scan flags of history and receipt.
type auditOpts struct {
	fromBlock, maxBlocks uint64
}

func (a *auditOpts) register(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&a.fromBlock, "from-block", 0, "first block scanned for refused attempts (default: the key's first block)")
	cmd.Flags().Uint64Var(&a.maxBlocks, "max-blocks", audit.DefaultMaxBlocks, "most blocks scanned for refused attempts")
}

func (a *auditOpts) options(cmd *cobra.Command, cl *gateway.Client) audit.Options {
	o := audit.Options{Chaincode: cl.Chaincode(), MaxBlocks: a.maxBlocks}
	if flagChanged(cmd.Flags(), "from-block") {
		o.FromBlock = &a.fromBlock
	}
	return o
}

func newAuditHistoryCmd() *cobra.Command {
	var conn connFlags
	var scan auditOpts
	var invalid bool
	cmd := ledgerCmd("history [flags] KEY", "Every transaction of a key from the ledger's blocks: who, endorsers, policy, reason",
		`  cachet history --config org1-auditor.json https://shop.example/items/1
  cachet history --include-invalid --json https://shop.example/items/1`,
		exactArgs(1, "KEY"), &conn)
	scan.register(cmd)
	cmd.Flags().BoolVar(&invalid, "include-invalid", false, "add refused attempts on the key that reached a block (found by scanning blocks)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		key, err := canonicalKey(args[0])
		if err != nil {
			return err
		}
		if scan.maxBlocks == 0 {
			return usagef("--max-blocks must be at least 1")
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			opts := scan.options(cmd, cl)
			opts.IncludeInvalid = invalid
			opts.ScopePurges = audit.CoveringPurges(cl, cl.Chaincode())
			recs, err := audit.Trail(ctx, cl, key, opts)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), conn.asJSON, recs, historyTable(recs))
		})
	}
	return cmd
}

// historyTable renders records in at most 120 columns.
func historyTable(recs []audit.Record) string {
	var b strings.Builder
	row := func(pos, at, op, ver, state, by, ends, reason string) {
		line := fmt.Sprintf("%-9s %-19s %-10s %4s %-11s %-28s %-10s %s", cut(pos, 9), cut(at, 19), cut(op, 10), cut(ver, 4),
			cut(state, 11), cut(by, 28), cut(ends, 10), reason)
		b.WriteString(strings.TrimRight(cut(line, 120), " ") + "\n")
	}
	row("BLK:TX", "TIME (UTC)", "OP", "VER", "STATE", "BY (ORG/ROLE/CN)", "ENDORSERS", "REASON")
	for _, r := range recs {
		state, reason := r.State, r.Reason
		if !r.Valid {
			state, reason = "REFUSED", strings.TrimSuffix(r.Validation+": "+reason, ": ")
		}
		if r.Scope != "" {
			reason = strings.TrimSpace("scope " + r.Scope + " " + reason)
		}
		var ends []string
		for _, e := range r.Endorsers {
			ends = append(ends, strings.TrimSuffix(e.Org, "MSP"))
		}
		ver := ""
		if r.Version > 0 {
			ver = strconv.FormatUint(r.Version, 10)
		}
		row(fmt.Sprintf("%d:%d", r.Block, r.TxIndex), r.Timestamp.Format("2006-01-02 15:04:05"), string(r.Op),
			ver, state, partyShort(r.Submitter), strings.Join(ends, ","), reason)
	}
	if len(recs) == 0 {
		b.WriteString("no transactions\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// partyShort is ORG/role/CN, the MSP suffix dropped and the CN cut at
// its first "@" or dot.
func partyShort(p audit.Party) string {
	cn := p.Subject
	if i := strings.Index(cn, "CN="); i >= 0 {
		cn = cn[i+3:]
		if j := strings.IndexAny(cn, ",.@"); j >= 0 {
			cn = cn[:j]
		}
	}
	return strings.TrimSuffix(p.Org, "MSP") + "/" + p.Role + "/" + cn
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func newReceiptCmd() *cobra.Command {
	var conn connFlags
	var scan auditOpts
	var out string
	cmd := ledgerCmd("receipt [flags] TXID|KEY@VERSION", "Write a transaction's self-contained receipt (JSON), to verify offline",
		`  cachet receipt --config org1-auditor.json -o publish.json 884a6396ab110474b48871c308a280eb1473b095dcc84f6d55e08c64d0dd37d2
  cachet receipt --config org1-auditor.json https://shop.example/items/1@2 > v2.json`,
		exactArgs(1, "TXID or KEY@VERSION"), &conn)
	scan.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the receipt to this file (default: standard output)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		txID, key, version, err := parseTxRef(args[0])
		if err != nil {
			return err
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			opts := scan.options(cmd, cl)
			if txID == "" {
				if txID, err = audit.Resolve(ctx, cl, key, version, opts); err != nil {
					return err
				}
			}
			r, err := audit.Receipt(ctx, cl, txID, opts)
			if err != nil {
				return err
			}
			b, err := r.Encode()
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if out == "" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "receipt of %s (block %d) written to %s\n", r.TxID, r.Block.Number, out)
			return nil
		})
	}
	return cmd
}

// parseTxRef reads a 64-hex transaction ID or KEY@VERSION.
func parseTxRef(arg string) (txID, key string, version uint64, err error) {
	if len(arg) == 64 {
		if _, err := hex.DecodeString(arg); err == nil {
			return strings.ToLower(arg), "", 0, nil
		}
	}
	i := strings.LastIndex(arg, "@")
	if i <= 0 {
		return "", "", 0, usagef("%q is neither a transaction ID (64 hex digits) nor KEY@VERSION", arg)
	}
	if version, err = strconv.ParseUint(arg[i+1:], 10, 64); err != nil || version == 0 {
		return "", "", 0, usagef("%q: the version after @ must be a number from 1", arg)
	}
	if key, err = canonicalKey(arg[:i]); err != nil {
		return "", "", 0, err
	}
	return "", key, version, nil
}
