package main

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	gocollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveOps serves a daemon's operator endpoints on listen: Prometheus
// /metrics from collectors, with the Go runtime's and the process's
// (go_*, process_*), /healthz from health and routes (http.ServeMux
// pattern → handler; nil for none). It returns the address it listens on
// and a stop that closes the server.
func serveOps(listen string, health http.Handler, routes map[string]http.Handler, collectors ...prometheus.Collector) (net.Addr, func(), error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(gocollectors.NewGoCollector(), gocollectors.NewProcessCollector(gocollectors.ProcessCollectorOpts{}))
	reg.MustRegister(collectors...)
	return serveOpsFrom(listen, health, reg, routes)
}

// serveOpsFrom is serveOps over a registry the daemon filled itself.
func serveOpsFrom(listen string, health http.Handler, reg prometheus.Gatherer, routes map[string]http.Handler) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /healthz", health)
	for pattern, h := range routes {
		mux.Handle(pattern, h)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return ln.Addr(), func() { hs.Close() }, nil
}
