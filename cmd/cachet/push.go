package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	embeddedkafka "github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/telemetry"
)

func init() {
	register(command{name: "push", summary: "WebSocket/SSE push server: fans transitions out to browsers", run: runPush})
}

func runPush(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cachet push", flag.ContinueOnError)
	var kf kafkaFlags
	kf.register(fs, "127.0.0.1:9092")
	embedded := fs.Bool("embedded", false, "start an embedded Kafka broker in process and use it (a quick try)")
	listen := fs.String("listen", "127.0.0.1:8090", "HTTP address serving /ws, /sse, /receipts, /spans, /metrics and /healthz")
	secret := fs.String("jwt-secret", os.Getenv("CACHET_PUSH_SECRET"), "HS256 secret for tokens (env CACHET_PUSH_SECRET)")
	jwks := fs.String("jwks", "", "JWKS file with the ES256/RS256 keys tokens may be signed with")
	audience := fs.String("audience", push.DefaultAudience, "audience tokens must name")
	issuer := fs.String("issuer", "", "issuer tokens must name (empty: not checked)")
	origins := fs.String("allowed-origins", "", "comma-separated page origins allowed to connect (empty: any)")
	otlp := fs.String("otlp-endpoint", "", "OTLP/HTTP endpoint for push.fanout and the browsers' spans (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no export); the spans' resource takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES")
	pprofAddr := fs.String("pprof", "", "address serving Go's profiles at /debug/pprof/ (empty: none), for benchmarks")
	var cfg push.Config
	fs.StringVar(&cfg.AdviceTopic, "advice-topic", record.TopicAdvice, `topic of analytics' advice sent to browsers ("-": none)`)
	fs.IntVar(&cfg.Window, "window", 4096, "replay window per partition, records")
	fs.IntVar(&cfg.SendBuffer, "send-buffer", 1024, "frames queued per connection before it counts as full")
	fs.DurationVar(&cfg.SlowDeadline, "slow-deadline", 5*time.Second, "how long a connection's buffer may stay full")
	fs.IntVar(&cfg.MaxChannels, "max-channels", 64, "channels per connection")
	fs.IntVar(&cfg.MaxFrameBytes, "max-frame-bytes", 16<<10, "largest client frame")
	fs.IntVar(&cfg.FramesPerSecond, "frames-per-second", 20, "client frames per second (bursts of twice that)")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", 256, "connections per client IP")
	fs.IntVar(&cfg.MaxConns, "max-conns", 19000, "connections in total")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *secret == "" && *jwks == "" {
		return usageError{"need --jwt-secret or --jwks"}
	}
	v, err := push.NewVerifierFromFile([]byte(*secret), *jwks, *audience, *issuer)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg.Verifier = v
	if *origins != "" {
		cfg.AllowedOrigins = strings.Split(*origins, ",")
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr, w)
		if err != nil {
			return err
		}
		defer stop()
	}
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-push", Endpoint: *otlp})
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx))
	if *embedded {
		b, err := embeddedkafka.Start(ctx)
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.Kafka = b.Config("cachet-push")
		fmt.Fprintf(w, "kafka: embedded broker on %s\n", b.Addr())
	} else {
		if cfg.Kafka, err = kf.config("cachet-push"); err != nil {
			return err
		}
		if err := pingKafka(ctx, cfg.Kafka); err != nil {
			return err
		}
	}
	return servePush(ctx, cfg, *listen, w)
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
func servePushOn(ctx context.Context, cfg push.Config, ln net.Listener, w io.Writer) error {
	srv, err := push.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(w, "push: listening on http://%s (epoch %s)\n", ln.Addr(), srv.Epoch())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	srv.Close() // tells clients to reconnect (4000) before the listener goes
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
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
