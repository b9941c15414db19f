package purgeapi

import (
	"context"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config's zero values.
const (
	DefaultAddr          = ":8088"
	DefaultSubmitTimeout = 30 * time.Second
	DefaultDrainTimeout  = 30 * time.Second
)

// DefaultRate applies to tokens created without a rate.
var DefaultRate = Rate{Events: 10, Per: time.Second}

// Config configures a Server. Ledger and Tokens are required; zero values
// of the rest take the defaults above.
type Config struct {
	Addr   string
	Ledger Ledger
	Tokens *TokenStore
	// DefaultRate applies to tokens stored without a rate.
	DefaultRate Rate
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// SubmitTimeout bounds one purge's submit and commit. A submit, once
	// started, runs to its end even if the client goes away or the server
	// shuts down, so a purge is either answered or never sent.
	SubmitTimeout time.Duration
	// DrainTimeout bounds how long Run waits for in-flight requests on shutdown.
	DrainTimeout time.Duration
	// Registerer receives the metrics (default: a private registry).
	Registerer prometheus.Registerer
	// Now is the clock for token expiry and rate limits (default time.Now).
	Now func() time.Time
	// Logger logs ledger failures (default slog.Default()).
	Logger *slog.Logger
}

// ConfigError reports a Config that cannot work.
type ConfigError struct{ Field, Reason string }

func (e *ConfigError) Error() string { return "purgeapi config " + e.Field + ": " + e.Reason }

// Server is the purge API.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *metrics
	limits  limiter
}

var tracer = otel.Tracer("github.com/cachetsync/cachet/purgeapi")

// route is one endpoint; the OpenAPI test walks this table.
type route struct {
	pattern string // "METHOD /path", as http.ServeMux reads it
	auth    bool
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, g Grant) *apiError
}

var routes = []route{
	{"POST /v1/purge", true, (*Server).purge},
	{"GET /v1/entries/{key}", true, (*Server).entry},
	{"GET /v1/history/{key}", true, (*Server).history},
	{"GET /v1/tx/{id}", true, (*Server).tx},
	{"GET /v1/openapi.json", false, (*Server).openAPI},
}

// New validates cfg and builds a Server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Ledger == nil:
		return nil, &ConfigError{"Ledger", "required"}
	case cfg.Tokens == nil:
		return nil, &ConfigError{"Tokens", "required"}
	case cfg.DefaultRate.Events < 0 || cfg.DefaultRate.Events > 0 && cfg.DefaultRate.Per <= 0:
		return nil, &ConfigError{"DefaultRate", "events and period must be positive"}
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.DefaultRate.Events == 0 {
		cfg.DefaultRate = DefaultRate
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.SubmitTimeout <= 0 {
		cfg.SubmitTimeout = DefaultSubmitTimeout
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("purgeapi metrics: %w", err)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: m}
	for _, rt := range routes {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	return s, nil
}

// Handler is the API's http.Handler, for tests and for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.mux }

// Run listens on Config.Addr and serves until ctx ends, then stops taking
// requests and waits up to DrainTimeout for those in flight.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(drain)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// wrap authenticates, rate-limits and counts one route.
// wrap serves rt: a server span (child of the request's traceparent, so a
// purge's trace runs from the caller through the ledger to the browsers'
// evictions), authentication, the handler and the request metric.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "purgeapi "+rt.pattern, trace.WithSpanKind(trace.SpanKindServer))
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.metrics.requests.WithLabelValues(rt.pattern, fmt.Sprint(sw.status)).Inc()
			span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
			if sw.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(sw.status))
			}
			span.End()
		}()
		var g Grant
		if rt.auth {
			var e *apiError
			if g, e = s.authenticate(r); e != nil {
				writeProblem(sw, e)
				return
			}
		}
		if e := rt.handle(s, sw, r, g); e != nil {
			writeProblem(sw, e)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (Grant, *apiError) {
	const bearer = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(bearer) || !strings.EqualFold(h[:len(bearer)], bearer) {
		return Grant{}, refuse(http.StatusUnauthorized, CodeUnauthenticated, "send Authorization: Bearer <token>")
	}
	now := s.cfg.Now()
	g, err := s.cfg.Tokens.Authenticate(h[len(bearer):], now)
	var te *TokenError
	switch {
	case errors.As(err, &te) && te.Code == TokenExpired:
		return Grant{}, refuse(http.StatusUnauthorized, CodeTokenExpired, te.Error())
	case errors.As(err, &te) && te.Code == TokenRevoked:
		return Grant{}, refuse(http.StatusUnauthorized, CodeTokenRevoked, te.Error())
	case errors.As(err, &te):
		return Grant{}, refuse(http.StatusUnauthorized, CodeUnauthenticated, te.Error())
	case err != nil:
		s.cfg.Logger.Error("token store", "err", err)
		return Grant{}, refuse(http.StatusInternalServerError, CodeInternal, "token store unreadable")
	}
	rate := g.Rate
	if rate.Events == 0 {
		rate = s.cfg.DefaultRate
	}
	if ok, wait := s.limits.allow(g.TokenID, rate, now); !ok {
		e := refuse(http.StatusTooManyRequests, CodeRateLimited, fmt.Sprintf("over the token's rate of %s", rate))
		e.retryAfter = wait
		return Grant{}, e
	}
	return g, nil
}
