package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/kafka"
	embeddedkafka "github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/telemetry"
)

func newPushCmd() *cobra.Command {
	var (
		kf                                     kafkaFlags
		lf                                     logFlags
		embedded                               bool
		listen, secret, jwks, audience, issuer string
		origins, otlp, pprofAddr               string
	)
	cfg := push.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "push [flags]",
		Short: "WebSocket/SSE push server: fans transitions out to browsers",
		Example: `  CACHET_PUSH_SECRET=… cachet push --brokers kafka-0:9092 --listen :8090 --allowed-origins https://shop.example
  cachet push --embedded --jwt-secret try-it --log-format json`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	kf.register(f, kafka.DefaultBrokers)
	f.BoolVar(&embedded, "embedded", false, "start an embedded Kafka broker in process and use it (a quick try)")
	f.StringVar(&listen, "listen", push.DefaultAddr, "HTTP address serving /ws, /sse, /receipts, /spans, /metrics and /healthz")
	f.StringVar(&secret, "jwt-secret", getenv("CACHET_PUSH_SECRET"), "HS256 secret for tokens (env CACHET_PUSH_SECRET)")
	f.StringVar(&jwks, "jwks", "", "JWKS file with the ES256/RS256 keys tokens may be signed with")
	f.StringVar(&audience, "audience", push.DefaultAudience, "audience tokens must name")
	f.StringVar(&issuer, "issuer", "", "issuer tokens must name (empty: not checked)")
	f.StringVar(&origins, "allowed-origins", "", "comma-separated page origins allowed to connect (empty: any)")
	f.StringVar(&otlp, "otlp-endpoint", "", "OTLP/HTTP endpoint for push.fanout and the browsers' spans (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no export); the spans' resource takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES")
	f.StringVar(&pprofAddr, "pprof", "", "address serving Go's profiles at /debug/pprof/ (empty: none), for benchmarks")
	f.StringVar(&cfg.AdviceTopic, "advice-topic", cfg.AdviceTopic, `topic of analytics' advice sent to browsers ("-": none)`)
	f.IntVar(&cfg.Window, "window", cfg.Window, "replay window per partition, records")
	f.IntVar(&cfg.SendBuffer, "send-buffer", cfg.SendBuffer, "frames queued per connection before it counts as full")
	f.DurationVar(&cfg.SlowDeadline, "slow-deadline", cfg.SlowDeadline, "how long a connection's buffer may stay full")
	f.IntVar(&cfg.MaxChannels, "max-channels", cfg.MaxChannels, "channels per connection")
	f.IntVar(&cfg.MaxFrameBytes, "max-frame-bytes", cfg.MaxFrameBytes, "largest client frame")
	f.IntVar(&cfg.FramesPerSecond, "frames-per-second", cfg.FramesPerSecond, "client frames per second (bursts of twice that)")
	f.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", cfg.MaxConnsPerIP, "connections per client IP")
	f.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "connections in total")
	lf.register(f, slog.LevelInfo)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		for _, n := range []struct {
			name string
			v    int
		}{{"window", cfg.Window}, {"send-buffer", cfg.SendBuffer}, {"max-channels", cfg.MaxChannels}, {"max-frame-bytes", cfg.MaxFrameBytes},
			{"frames-per-second", cfg.FramesPerSecond}, {"max-conns-per-ip", cfg.MaxConnsPerIP}, {"max-conns", cfg.MaxConns}} {
			if n.v < 1 {
				return usagef("--%s %d: want at least 1", n.name, n.v)
			}
		}
		if cfg.SlowDeadline <= 0 {
			return usagef("--slow-deadline %s: want a positive duration", cfg.SlowDeadline)
		}
		if secret == "" && jwks == "" {
			return usagef("need --jwt-secret or --jwks")
		}
		v, err := push.NewVerifierFromFile([]byte(secret), jwks, audience, issuer)
		if err != nil {
			return asUsage(err)
		}
		cfg.Verifier = v
		if origins != "" {
			cfg.AllowedOrigins = strings.Split(origins, ",")
		}
		if cfg.Log, err = lf.logger(cmd.ErrOrStderr()); err != nil {
			return err
		}
		ctx, w := cmd.Context(), cmd.OutOrStdout()
		if !embedded {
			if cfg.Kafka, err = kf.config("cachet-push"); err != nil {
				return err
			}
		}
		if pprofAddr != "" {
			stop, err := servePprof(pprofAddr, w)
			if err != nil {
				return err
			}
			defer stop()
		}
		shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-push", Endpoint: otlp})
		if err != nil {
			return err
		}
		defer shutdown(context.WithoutCancel(ctx))
		if embedded {
			b, err := embeddedkafka.Start(ctx)
			if err != nil {
				return err
			}
			defer b.Close()
			cfg.Kafka = b.Config("cachet-push")
			fmt.Fprintf(w, "kafka: embedded broker on %s\n", b.Addr())
		}
		return servePush(ctx, cfg, listen, w)
	}
	return cmd
}

// servePush runs a push server on listen until ctx is done.
func servePush(ctx context.Context, cfg push.Config, listen string, w io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return servePushOn(ctx, cfg, ln, w)
}

// servePushOn runs a push server on ln (which it closes) until ctx is done.
// It serves /healthz at once: 503 with the reason while Kafka does not
// answer (the start retries with backoff), 200 once the server runs.
// Brokers that refuse the credentials end it with the reason.
func servePushOn(ctx context.Context, cfg push.Config, ln net.Listener, w io.Writer) error {
	st, err := push.Start(ctx, cfg, push.StartConfig{})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	case <-st.Ready():
		var srv *push.Server
		if srv, err = st.Server(); err == nil {
			fmt.Fprintf(w, "push: listening on http://%s (epoch %s)\n", ln.Addr(), srv.Epoch())
			select {
			case <-ctx.Done():
			case err = <-errc:
			}
		}
	}
	st.Close() // tells clients to reconnect (4000) before the listener goes
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// servePprof serves net/http/pprof's handlers on addr until stop.
func servePprof(addr string, w io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Fprintf(w, "push: profiles on http://%s/debug/pprof/\n", ln.Addr())
	return func() { hs.Close() }, nil
}
