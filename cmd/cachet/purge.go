package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/purgeapi"
)

// scopeFlags are purge's scope flags; exactly one is set for a scope purge.
type scopeFlags struct {
	tag, prefix, host, origin string
}

// scope checks the one scope the flags name and canonicalizes its value;
// ok is false when none is set.
func (s scopeFlags) scope(fs interface{ Changed(string) bool }) (sc ledger.Scope, ok bool, err error) {
	var set []string
	for _, name := range []string{"tag", "prefix", "host", "origin"} {
		if fs.Changed(name) {
			set = append(set, "--"+name)
		}
	}
	switch len(set) {
	case 0:
		return sc, false, nil
	case 1:
	default:
		return sc, false, usagef("%v: give exactly one of --tag, --prefix, --host, --origin", set)
	}
	switch {
	case fs.Changed("tag"):
		sc = ledger.Scope{Kind: ledger.ScopeTag, Value: s.tag}
		err = cachekey.Tag(s.tag)
	case fs.Changed("prefix"):
		sc.Kind = ledger.ScopePrefix
		sc.Value, err = purgeapi.CanonicalPrefix(s.prefix)
		if err == nil && sc.Value[len(sc.Value)-1] != '/' {
			err = &purgeapi.OriginError{Input: s.prefix, Reason: "a prefix scope ends in '/'"}
		}
	case fs.Changed("host"):
		sc.Kind = ledger.ScopeHost
		sc.Value, err = cachekey.ParseHost(s.host)
	default:
		sc.Kind = ledger.ScopeOrigin
		sc.Value, err = purgeapi.CanonicalOrigin(s.origin)
	}
	if err != nil {
		return sc, false, asUsage(fmt.Errorf("--%s: %w", sc.Kind, err))
	}
	return sc, true, nil
}

func newPurgeCmd() *cobra.Command {
	var (
		conn                connFlags
		expect              uint64
		sf                  scopeFlags
		owner, reason, idem string
		soft                bool
	)
	cmd := ledgerCmd("purge [flags] KEY | --tag TAG | --prefix URL | --host HOST | --origin ORIGIN",
		"Delete an entry's state (its history stays), or purge every entry under a tag, prefix, host or origin in one transaction",
		`  cachet purge --config org1-publisher.json --expect 3 https://shop.example/items/1
  cachet purge --config org1-publisher.json --prefix https://shop.example/assets/ --reason deploy
  cachet purge --tag catalog --soft --idempotency-key price-list-2026-12
  cachet purge --host shop.example
  cachet purge --origin https://shop.example`,
		cobra.MaximumNArgs(1), &conn)
	f := cmd.Flags()
	f.Uint64Var(&expect, "expect", 0, "with KEY: refuse unless the entry is at this version")
	f.StringVar(&sf.tag, "tag", "", "purge every entry carrying TAG")
	f.StringVar(&sf.prefix, "prefix", "", "purge every URL key starting with URL (ends in '/', no query); the caller's org must claim the host")
	f.StringVar(&sf.host, "host", "", "purge every URL key on HOST (any scheme or port); the caller's org must claim it")
	f.StringVar(&sf.origin, "origin", "", "purge every URL key on ORIGIN (scheme://host[:port])")
	f.StringVar(&owner, "owner", "", "MSP ID of the org the scope belongs to (default: the caller's)")
	f.BoolVar(&soft, "soft", false, "mark covered entries STALE (serve while revalidating) instead of INVALIDATED")
	f.StringVar(&reason, "reason", "", "why (recorded on the ledger)")
	f.StringVar(&idem, "idempotency-key", "", "name the purge: sending it again commits nothing and answers the first generation")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sc, isScope, err := sf.scope(cmd.Flags())
		if err != nil {
			return err
		}
		if !isScope {
			if len(args) != 1 {
				return usagef("purge takes a KEY or one of --tag, --prefix, --host, --origin")
			}
			for _, name := range []string{"owner", "soft", "reason", "idempotency-key"} {
				if cmd.Flags().Changed(name) {
					return usagef("--%s goes with a scope purge (--tag, --prefix, --host, --origin)", name)
				}
			}
			return purgeKey(cmd, &conn, args[0], expect)
		}
		switch {
		case len(args) != 0:
			return usagef("a scope purge takes no KEY (got %q)", args[0])
		case cmd.Flags().Changed("expect"):
			return usagef("--expect goes with a KEY")
		}
		if err := checkReason(reason); err != nil {
			return err
		}
		opts, err := idempotencyOpts(idem)
		if err != nil {
			return err
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			g, done, err := cl.PurgeScope(ctx, gateway.PurgeRequest{Scope: sc, Owner: owner, Soft: soft, Reason: reason}, opts...)
			if err != nil {
				return err
			}
			kind := "purged"
			if g.Soft {
				kind = "soft-purged"
			}
			return printResult(cmd.OutOrStdout(), conn.asJSON, map[string]any{"generation": g, "txId": done.TxID, "block": done.Block},
				fmt.Sprintf("%s %s of %s: generation %d\n  %s", kind, g.Scope, g.Owner, g.Generation, committedLine(done)))
		})
	}
	return cmd
}

func purgeKey(cmd *cobra.Command, conn *connFlags, raw string, expect uint64) error {
	key, err := canonicalKey(raw)
	if err != nil {
		return err
	}
	return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
		e, done, err := cl.Purge(ctx, key, expect)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), conn.asJSON, map[string]any{"entry": e, "txId": done.TxID, "block": done.Block}, "purged "+entryLine(e)+"\n  "+committedLine(done))
	})
}

// idempotencyOpts checks an --idempotency-key and makes it an option.
func idempotencyOpts(key string) ([]gateway.InvalidateOption, error) {
	if key == "" {
		return nil, nil
	}
	if len(key) > ledger.MaxIdempotencyKeyBytes {
		return nil, usagef("--idempotency-key: %d bytes, at most %d", len(key), ledger.MaxIdempotencyKeyBytes)
	}
	for _, c := range []byte(key) {
		if c < 0x20 || c > 0x7e {
			return nil, usagef("--idempotency-key: printable ASCII only")
		}
	}
	return []gateway.InvalidateOption{gateway.WithIdempotencyKey(key)}, nil
}

func newClaimHostCmd() *cobra.Command {
	return hostClaimCmd("claim-host", "Claim HOST for the caller's org: only it publishes URL keys on it and purges its prefixes, host and origins (admin)",
		`  cachet claim-host --config org1-admin.json shop.example`, (*gateway.Client).ClaimHost, "claimed")
}

func newReleaseHostCmd() *cobra.Command {
	return hostClaimCmd("release-host", "End the caller's org's claim on HOST (admin)",
		`  cachet release-host --config org1-admin.json shop.example`, (*gateway.Client).ReleaseHost, "released")
}

func hostClaimCmd(name, short, example string, call func(*gateway.Client, context.Context, string) (gateway.HostClaim, gateway.Committed, error), verb string) *cobra.Command {
	var conn connFlags
	cmd := ledgerCmd(name+" [flags] HOST", short, example, exactArgs(1, "HOST"), &conn)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		host, err := cachekey.ParseHost(args[0])
		if err != nil {
			return asUsage(err)
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			h, done, err := call(cl, ctx, host)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), conn.asJSON, map[string]any{"claim": h, "txId": done.TxID, "block": done.Block},
				fmt.Sprintf("%s %s for %s\n  %s", verb, h.Host, h.Owner, committedLine(done)))
		})
	}
	return cmd
}
