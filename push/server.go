package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cachetsync/cachet/kafka"
)

// Config configures a Server. Zero limits take the defaults below.
type Config struct {
	Kafka kafka.Config
	Topic string // default record.TopicTransitions
	// PurgesTopic carries the scope purges (record.Generation), fanned out
	// as purge frames with the transitions' positions (default
	// record.TopicPurges; "-" reads no purges).
	PurgesTopic string
	// ReadsTopic receives the browsers' reads and eviction receipts
	// (default record.TopicReads).
	ReadsTopic string
	// AdviceTopic is read from its newest offsets and fanned out as advice
	// frames (default record.TopicAdvice; "-" reads no advice).
	AdviceTopic string
	Verifier    *Verifier // required
	// AllowedOrigins lists the page origins (scheme://host[:port]) allowed
	// to connect; a request with another Origin header is refused with 403.
	// Requests without Origin (non-browser clients) are allowed. Empty: any.
	AllowedOrigins []string

	Window             int           // replay window per partition, records (4096)
	SendBuffer         int           // frames queued per connection before it counts as full (1024)
	SlowDeadline       time.Duration // how long a full connection may stay full (5 s)
	MaxChannels        int           // per connection (64)
	MaxFrameBytes      int           // client frame size (16 KiB)
	FramesPerSecond    int           // client frames per second (20), bursts of twice that
	MaxConnsPerIP      int           // (256)
	MaxConns           int           // in total (19000: under the 20,000 open-files limit)
	PingInterval       time.Duration // (25 s)
	HelloTimeout       time.Duration // (10 s)
	CatchUpConcurrency int           // Kafka catch-ups at once (4)
	ReceiptTimeout     time.Duration // how long the reads of a receipts frame may wait for Kafka (10 s)
	Log                *slog.Logger
}

func (c *Config) defaults() error {
	if c.Verifier == nil {
		return &ConfigError{Field: "verifier", Reason: "required"}
	}
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	d := DefaultConfig()
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defStr := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	defStr(&c.Topic, d.Topic)
	defStr(&c.PurgesTopic, d.PurgesTopic)
	defStr(&c.ReadsTopic, d.ReadsTopic)
	defStr(&c.AdviceTopic, d.AdviceTopic)
	def(&c.Window, d.Window)
	def(&c.SendBuffer, d.SendBuffer)
	def(&c.MaxChannels, d.MaxChannels)
	def(&c.MaxFrameBytes, d.MaxFrameBytes)
	def(&c.FramesPerSecond, d.FramesPerSecond)
	def(&c.MaxConnsPerIP, d.MaxConnsPerIP)
	def(&c.MaxConns, d.MaxConns)
	def(&c.CatchUpConcurrency, d.CatchUpConcurrency)
	defDur(&c.SlowDeadline, d.SlowDeadline)
	defDur(&c.PingInterval, d.PingInterval)
	defDur(&c.HelloTimeout, d.HelloTimeout)
	defDur(&c.ReceiptTimeout, d.ReceiptTimeout)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Server is a push server: one Kafka source, one hub, many sessions.
type Server struct {
	cfg     Config
	hub     *hub
	src     *source
	advice  *adviceSource // nil when no advice is read
	prodMu  sync.RWMutex  // held shared while producing reads; Close takes it to close prod
	prod    *kafka.Producer
	prodEnd bool // prod is closed
	posts   postLimiter
	m       *metrics
	sem     chan struct{}
	cancel  context.CancelFunc
	stopped chan struct{}
	closing atomic.Bool
	healthy atomic.Bool
	conns   atomic.Int64
	ipMu    sync.Mutex
	perIP   map[string]int
	wg      sync.WaitGroup // sessions
}

// New connects to Kafka, warms the replay window and starts consuming.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m := newMetrics()
	purges := cfg.PurgesTopic
	if purges == "-" {
		purges = ""
	}
	src, epoch, start, err := openSource(ctx, cfg.Kafka, []string{cfg.Topic, purges}, cfg.Window)
	if err != nil {
		return nil, err
	}
	var adv *adviceSource
	if cfg.AdviceTopic != "-" {
		if adv, err = openAdvice(ctx, cfg.Kafka, cfg.AdviceTopic); err != nil {
			src.c.Close()
			return nil, err
		}
	}
	prod, err := newReadsProducer(cfg.Kafka, cfg.ReceiptTimeout,
		kafka.WithErrorHandler(func(err error) { cfg.Log.Warn("kafka reads producer", "err", err) }))
	if err != nil {
		src.c.Close()
		if adv != nil {
			adv.c.Close()
		}
		return nil, err
	}
	h := newHub(epoch, start, src.purgesFrom(), cfg.Window, m)
	h.parts = src.parts
	s := &Server{cfg: cfg, hub: h, src: src, advice: adv, prod: prod, m: m,
		posts: postLimiter{perSec: cfg.FramesPerSecond},
		sem:   make(chan struct{}, cfg.CatchUpConcurrency), stopped: make(chan struct{}), perIP: map[string]int{}}
	s.healthy.Store(true)
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	warn := func(what string) func(error) {
		return func(err error) { cfg.Log.Warn(what, "err", err) }
	}
	var running sync.WaitGroup
	running.Go(func() { src.run(rctx, s.hub, m, warn("kafka")) })
	if adv != nil {
		running.Go(func() { adv.run(rctx, s.hub, m, warn("kafka advice")) })
	}
	go func() {
		defer close(s.stopped)
		<-rctx.Done()
		running.Wait()
	}()
	go s.pinger(rctx)
	return s, nil
}

// Epoch returns the epoch of the topic incarnation this server reads.
func (s *Server) Epoch() string { return s.hub.epoch }

func (s *Server) pinger(ctx context.Context) {
	t := time.NewTicker(min(s.cfg.PingInterval, s.cfg.SlowDeadline/2))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(last) >= s.cfg.PingInterval {
				last = now
				s.hub.ping()
				continue
			}
			for _, ss := range s.hub.sessionList() {
				ss.checkSlow(now)
			}
		}
	}
}

// Handler serves /ws, /sse, /receipts, /spans, /metrics and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /sse", s.serveSSE)
	mux.HandleFunc("POST /receipts", s.serveReceipts)
	mux.HandleFunc("POST /spans", s.serveSpans)
	mux.HandleFunc("OPTIONS /sse", s.servePreflight("GET", "Authorization, Last-Event-ID"))
	mux.HandleFunc("OPTIONS /receipts", s.servePreflight("POST", "Authorization, Content-Type"))
	mux.HandleFunc("OPTIONS /spans", s.servePreflight("POST", "Authorization, Content-Type"))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if s.closing.Load() || !s.healthy.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// Close tells every client to reconnect elsewhere (4000), waits for the
// sessions to end and stops consuming.
func (s *Server) Close() {
	if s.closing.Swap(true) {
		return
	}
	for _, ss := range s.hub.sessionList() {
		ss.close(closeErr(CodeShutdown, "server shutting down"))
	}
	s.wg.Wait()
	s.cancel()
	s.prodMu.Lock()
	s.prodEnd = true
	s.prod.Flush(5 * time.Second)
	s.prod.Close()
	s.prodMu.Unlock()
	<-s.stopped
	s.src.c.Close()
	if s.advice != nil {
		s.advice.c.Close()
	}
}

// admit checks the origin and connection limits of a new request and
// reserves a slot; release must be called when it ends.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if s.closing.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil, false
	}
	if o := r.Header.Get("Origin"); o != "" && !s.originAllowed(o) {
		s.m.refused.WithLabelValues("origin").Inc()
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return nil, false
	}
	if s.conns.Add(1) > int64(s.cfg.MaxConns) {
		s.conns.Add(-1)
		s.m.refused.WithLabelValues("capacity").Inc()
		http.Error(w, "at capacity", http.StatusServiceUnavailable)
		return nil, false
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	s.ipMu.Lock()
	if s.perIP[ip] >= s.cfg.MaxConnsPerIP {
		s.ipMu.Unlock()
		s.conns.Add(-1)
		s.m.refused.WithLabelValues("per-ip").Inc()
		http.Error(w, "too many connections from this address", http.StatusTooManyRequests)
		return nil, false
	}
	s.perIP[ip]++
	s.ipMu.Unlock()
	s.wg.Add(1)
	return func() {
		s.ipMu.Lock()
		if s.perIP[ip]--; s.perIP[ip] == 0 {
			delete(s.perIP, ip)
		}
		s.ipMu.Unlock()
		s.conns.Add(-1)
		s.wg.Done()
	}, true
}

// authorize verifies a token and the channels it asks for, returning the
// sorted, de-duplicated channel set.
func (s *Server) authorize(token string, channels []string) (*Claims, []string, error) {
	claims, err := s.cfg.Verifier.Verify(token)
	if err != nil {
		return nil, nil, err
	}
	chs := slices.Clone(channels)
	slices.Sort(chs)
	chs = slices.Compact(chs)
	if len(chs) == 0 {
		return nil, nil, closeErr(CodeProtocol, "no channels")
	}
	if len(chs) > s.cfg.MaxChannels {
		return nil, nil, closeErr(CodeTooManyChannels, "too many channels")
	}
	for _, c := range chs {
		if err := ValidChannel(c); err != nil {
			return nil, nil, &CloseError{Code: CodeChannelForbidden, Message: "malformed channel", Err: err}
		}
		if !claims.Allows(c) {
			return nil, nil, closeErr(CodeChannelForbidden, "token does not allow channel "+c)
		}
	}
	return claims, chs, nil
}

func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) limitsJSON() FrameLimits {
	return FrameLimits{Channels: s.cfg.MaxChannels, MaxFrameBytes: s.cfg.MaxFrameBytes, FramesPerSecond: s.cfg.FramesPerSecond}
}
