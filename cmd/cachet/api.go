package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	gocollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/purgeapi"
)

// defaultTokens is where the API's tokens live unless --tokens says otherwise.
const defaultTokens = "cachet-tokens.json"

func newAPICmd() *cobra.Command {
	var (
		conn                  connFlags
		lf                    logFlags
		listen, metricsListen string
		tokens                string
		submitTimeout         time.Duration
	)
	cmd := ledgerCmd("api [flags]",
		"Serve the HTTP purge API: callers holding an API token purge and read through this daemon's Fabric identity",
		`  cachet api --config org1-publisher.json --tokens /var/lib/cachet/tokens.json --listen :8088 --metrics-listen :9465
  cachet api token create --tokens /var/lib/cachet/tokens.json --scope purge:tags,prefix:https://shop.example/assets/ --expires 720h --rate 50/s`,
		cobra.NoArgs, &conn)
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":8088", "address of the public purge API")
	f.StringVar(&metricsListen, "metrics-listen", "", "address of /metrics and /healthz (empty: not served)")
	f.StringVar(&tokens, "tokens", defaultTokens, "the token store (JSON, written by cachet api token); reread when it changes")
	f.DurationVar(&submitTimeout, "submit-timeout", purgeapi.DefaultSubmitTimeout, "bound on one purge's submit and commit")
	lf.register(f, slog.LevelInfo)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if submitTimeout <= 0 {
			return usagef("--submit-timeout %s: want a positive duration", submitTimeout)
		}
		log, err := lf.logger(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		store, err := purgeapi.OpenTokenStore(tokens)
		if err != nil {
			return asUsage(err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(gocollectors.NewGoCollector(), gocollectors.NewProcessCollector(gocollectors.ProcessCollectorOpts{}))
		if conn.observer, err = purgeapi.NewGatewayMetrics(reg); err != nil {
			return err
		}
		return conn.run(cmd, func(ctx context.Context, cl *gateway.Client) error {
			return runAPI(ctx, cl, store, reg, listen, metricsListen, submitTimeout, log, cmd.OutOrStdout())
		})
	}
	cmd.AddCommand(newTokenCmd())
	return cmd
}

// runAPI serves the purge API through cl, and reg (where cl's submit
// metrics already are, with the purge API's) on metricsListen.
func runAPI(ctx context.Context, cl *gateway.Client, store *purgeapi.TokenStore, reg *prometheus.Registry, listen, metricsListen string,
	submitTimeout time.Duration, log *slog.Logger, w io.Writer) error {
	srv, err := purgeapi.New(purgeapi.Config{Addr: listen, Ledger: purgeapi.NewGatewayLedger(cl), Tokens: store,
		SubmitTimeout: submitTimeout, Registerer: reg, Logger: log})
	if err != nil {
		return asUsage(err)
	}
	if metricsListen != "" {
		health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		addr, stop, err := serveOpsFrom(metricsListen, health, reg, nil)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(w, "api: metrics on http://%s/metrics\n", addr)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "api: purge API on http://%s as %s\n", ln.Addr(), cl.MSPID())
	log.Info("purge API serving", "addr", ln.Addr().String(), "msp", cl.MSPID())
	return srv.Serve(ctx, ln)
}

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke the purge API's tokens (the daemon rereads the store)",
		Example: `  cachet api token create --tokens tokens.json --scope purge:tags --expires 720h
  cachet api token list --tokens tokens.json
  cachet api token revoke --tokens tokens.json 0f1e2d3c4b5a6978`}
	cmd.AddCommand(newTokenCreateCmd(), newTokenListCmd(), newTokenRevokeCmd())
	return cmd
}

// tokenFlags are the token commands' common flags.
type tokenFlags struct {
	path   string
	asJSON bool
}

func (t *tokenFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.path, "tokens", defaultTokens, "the token store (JSON, mode 0600)")
	cmd.Flags().BoolVar(&t.asJSON, "json", false, "print results as JSON")
}

func (t *tokenFlags) open() (*purgeapi.TokenStore, error) {
	s, err := purgeapi.OpenTokenStore(t.path)
	if err != nil {
		return nil, asUsage(err)
	}
	return s, nil
}

func newTokenCreateCmd() *cobra.Command {
	var (
		tf   tokenFlags
		spec purgeapi.TokenSpec
	)
	cmd := &cobra.Command{
		Use:   "create --scope SCOPES [flags]",
		Short: "Create a token and print its secret, this once",
		Example: `  cachet api token create --scope purge:tags,prefix:https://shop.example/assets/ --expires 720h --rate 50/s --name shop-deploy
  cachet api token create --scope read,host:shop.example --tokens /var/lib/cachet/tokens.json`,
		Args: exactArgs(0, "arguments"),
	}
	tf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&spec.Scopes, "scope", "", "comma-separated scopes: purge:KIND, prefix:URL, host:HOST, origin:ORIGIN, tag:TAG, read")
	f.DurationVar(&spec.Expires, "expires", 0, "lifetime from now (0: never expires)")
	f.StringVar(&spec.Rate, "rate", "", "requests allowed: N/s, N/m, N/h or N/DURATION (default: the daemon's, 10/s)")
	f.StringVar(&spec.Name, "name", "", "a name to tell the token by in token list")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if spec.Scopes == "" {
			return usagef("token create needs --scope")
		}
		if _, err := purgeapi.ParseScopes(spec.Scopes); err != nil {
			return asUsage(fmt.Errorf("--scope: %w", err))
		}
		if spec.Rate != "" {
			if _, err := purgeapi.ParseRate(spec.Rate); err != nil {
				return asUsage(fmt.Errorf("--rate: %w", err))
			}
		}
		if spec.Expires < 0 {
			return usagef("--expires %s: want 0 (never) or a positive duration", spec.Expires)
		}
		store, err := tf.open()
		if err != nil {
			return err
		}
		secret, tok, err := store.Create(spec, time.Now())
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), tf.asJSON, map[string]any{"token": secret, "id": tok.ID, "scopes": tok.Scopes, "expiresAt": tok.ExpiresAt},
			fmt.Sprintf("%s\n  id %s, scopes %v (the secret is shown only this once)", secret, tok.ID, tok.Scopes))
	}
	return cmd
}

func newTokenListCmd() *cobra.Command {
	var tf tokenFlags
	cmd := &cobra.Command{Use: "list [flags]", Short: "List the tokens, revoked and expired ones too (never their secrets)", Args: exactArgs(0, "arguments"),
		Example: `  cachet api token list --tokens /var/lib/cachet/tokens.json
  cachet api token list --json`}
	tf.register(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		store, err := tf.open()
		if err != nil {
			return err
		}
		list, err := store.List()
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if tf.asJSON {
			for i := range list {
				list[i].Hash = ""
			}
			return printResult(w, true, list, "")
		}
		now := time.Now()
		for _, t := range list {
			state := "active"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked " + t.RevokedAt.Format(time.RFC3339)
			case !t.ExpiresAt.IsZero() && now.After(t.ExpiresAt):
				state = "expired " + t.ExpiresAt.Format(time.RFC3339)
			case !t.ExpiresAt.IsZero():
				state = "expires " + t.ExpiresAt.Format(time.RFC3339)
			}
			rate := t.Rate
			if rate == "" {
				rate = "default"
			}
			fmt.Fprintf(w, "%s  %-16s  %s  rate %s  %v\n", t.ID, t.Name, state, rate, t.Scopes)
		}
		return nil
	}
	return cmd
}

func newTokenRevokeCmd() *cobra.Command {
	var tf tokenFlags
	cmd := &cobra.Command{Use: "revoke [flags] ID", Short: "Revoke a token (it stays listed)", Args: exactArgs(1, "ID"),
		Example: `  cachet api token revoke --tokens /var/lib/cachet/tokens.json 0f1e2d3c4b5a6978`}
	tf.register(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		store, err := tf.open()
		if err != nil {
			return err
		}
		if err := store.Revoke(args[0], time.Now()); err != nil {
			return asUsage(err)
		}
		return printResult(cmd.OutOrStdout(), tf.asJSON, map[string]any{"revoked": args[0]}, "revoked "+args[0])
	}
	return cmd
}
