// Command dcproxy places the native Fabric network's nodes (network/network.sh
// in its data-center mode) in emulated data centers: it runs one bench/netem
// proxy per endpoint that other nodes reach (an orderer's cluster and client
// ports, a peer's gossip external endpoint) and, for each connection, finds
// the node that opened it from the kernel's socket table, so that traffic
// between two data centers takes their link (a one-way delay each way, cut
// when either data center is cut) and traffic inside one goes straight
// through. Connections from processes that are not nodes (clients, the peer
// CLI) are not shaped.
//
//	dcproxy --config dcs.json
//
// The control endpoint (HTTP on the config's "control" address):
//
//	GET  /status           the delay, the cut data centers and each link's connections (JSON)
//	POST /delay?d=30ms     set the one-way delay between data centers
//	POST /cut?dc=dc3       cut a data center off: drop its links' connections, refuse new ones
//	POST /heal?dc=dc3      heal it (no dc: heal every one)
//
// network/README.md ("Emulated data centers") describes the topology.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cachetsync/cachet/bench/netem"
)

// Config is dcproxy's JSON configuration.
type Config struct {
	// Control is the address of the HTTP control endpoint.
	Control string `json:"control"`
	// Delay is the initial one-way delay between data centers ("30ms").
	Delay string `json:"delay"`
	// PidDir holds the nodes' PID files, NODE.pid.
	PidDir string `json:"pidDir"`
	// DCs lists each data center's nodes.
	DCs map[string][]string `json:"dcs"`
	// Proxies are the endpoints proxied.
	Proxies []ProxyConfig `json:"proxies"`
}

// ProxyConfig is one proxied endpoint of a node.
type ProxyConfig struct {
	Listen string `json:"listen"`
	Target string `json:"target"`
	Node   string `json:"node"`
}

func main() {
	path := flag.String("config", "", "JSON configuration (required)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*path, log); err != nil {
		log.Error("dcproxy", "err", err)
		os.Exit(1)
	}
}

func run(path string, log *slog.Logger) error {
	if path == "" {
		return errors.New("--config is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	delay, err := time.ParseDuration(cfg.Delay)
	if err != nil {
		return fmt.Errorf("delay %q: %w", cfg.Delay, err)
	}
	w, err := newWorld(cfg, delay, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var proxies []*netem.Proxy
	defer func() {
		for _, p := range proxies {
			p.Close()
		}
	}()
	for _, pc := range cfg.Proxies {
		p, err := netem.Listen(pc.Listen, pc.Target, w.route(pc.Node, pc.Listen))
		if err != nil {
			return err
		}
		proxies = append(proxies, p)
	}
	srv := &http.Server{Addr: cfg.Control, Handler: w.handler(), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", cfg.Control)
	if err != nil {
		return fmt.Errorf("control endpoint: %w", err)
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("dcproxy up", "proxies", len(proxies), "delay", delay, "control", cfg.Control)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("control endpoint: %w", err)
	}
	return nil
}

// world is the data centers, their links and which of them are cut.
type world struct {
	log    *slog.Logger
	pidDir string
	dcOf   map[string]string // node → data center
	dcs    []string
	mu     sync.Mutex
	delay  time.Duration
	cut    map[string]bool
	links  map[[2]string]*netem.Link // sorted pair of data centers
}

func newWorld(cfg Config, delay time.Duration, log *slog.Logger) (*world, error) {
	w := &world{log: log, pidDir: cfg.PidDir, dcOf: map[string]string{}, delay: delay, cut: map[string]bool{}, links: map[[2]string]*netem.Link{}}
	for dc, nodes := range cfg.DCs {
		w.dcs = append(w.dcs, dc)
		for _, n := range nodes {
			w.dcOf[n] = dc
		}
	}
	sort.Strings(w.dcs)
	for i, a := range w.dcs {
		for _, b := range w.dcs[i+1:] {
			w.links[[2]string{a, b}] = netem.NewLink(delay)
		}
	}
	for _, pc := range cfg.Proxies {
		if w.dcOf[pc.Node] == "" {
			return nil, fmt.Errorf("proxy %s: node %q is in no data center", pc.Listen, pc.Node)
		}
	}
	return w, nil
}

func pairOf(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// route picks the link of a connection accepted for node: the link between
// the data center of the node that dialled and node's, or none.
func (w *world) route(node, listen string) netem.Route {
	to := w.dcOf[node]
	return func(c net.Conn) *netem.Link {
		from := w.owner(c)
		dc := w.dcOf[from]
		if dc == "" || dc == to {
			w.log.Info("connection", "to", node, "via", listen, "from", orDefault(from, "outside"), "link", "none")
			return nil
		}
		l := w.links[pairOf(dc, to)]
		w.log.Info("connection", "to", node, "via", listen, "from", from, "link", dc+"-"+to, "cut", l.IsCut())
		return l
	}
}

func orDefault(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// owner is the node whose process holds the other end of an accepted
// loopback connection, or "".
func (w *world) owner(c net.Conn) string {
	remote, ok1 := c.RemoteAddr().(*net.TCPAddr)
	local, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return ""
	}
	inode := socketInode(remote.Port, local.Port)
	if inode == "" {
		return ""
	}
	want := "socket:[" + inode + "]"
	for node := range w.dcOf {
		b, err := os.ReadFile(fmt.Sprintf("%s/%s.pid", w.pidDir, node))
		if err != nil {
			continue
		}
		fds := fmt.Sprintf("/proc/%s/fd", strings.TrimSpace(string(b)))
		entries, err := os.ReadDir(fds)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if l, err := os.Readlink(fds + "/" + e.Name()); err == nil && l == want {
				return node
			}
		}
	}
	return ""
}

// socketInode finds in /proc/net/tcp{,6} the inode of the socket whose local
// port is port and remote port peerPort: the dialling side of a connection
// the proxy accepted on peerPort.
func socketInode(port, peerPort int) string {
	suffix, peerSuffix := fmt.Sprintf(":%04X", port), fmt.Sprintf(":%04X", peerPort)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && strings.HasSuffix(fs[1], suffix) && strings.HasSuffix(fs[2], peerSuffix) {
				return fs[9]
			}
		}
	}
	return ""
}

// apply cuts every link with a cut end and heals the others.
func (w *world) apply() {
	for p, l := range w.links {
		if w.cut[p[0]] || w.cut[p[1]] {
			l.Cut()
		} else {
			l.Heal()
		}
		l.SetDelay(w.delay)
	}
}

// Status is /status's answer.
type Status struct {
	Delay string                `json:"delay"`
	Cut   []string              `json:"cut"`
	Links map[string]LinkStatus `json:"links"`
}

// LinkStatus is one link's state.
type LinkStatus struct {
	Cut   bool `json:"cut"`
	Conns int  `json:"conns"`
}

func (w *world) status() Status {
	s := Status{Delay: w.delay.String(), Cut: []string{}, Links: map[string]LinkStatus{}}
	for _, dc := range w.dcs {
		if w.cut[dc] {
			s.Cut = append(s.Cut, dc)
		}
	}
	for p, l := range w.links {
		s.Links[p[0]+"-"+p[1]] = LinkStatus{Cut: l.IsCut(), Conns: l.Conns()}
	}
	return s
}

func (w *world) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(rw http.ResponseWriter, _ *http.Request) {
		w.mu.Lock()
		s := w.status()
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(s)
	})
	mux.HandleFunc("POST /delay", func(rw http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 {
			http.Error(rw, fmt.Sprintf("d: want a duration such as 30ms (%v)", err), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.delay = d
		w.apply()
		w.mu.Unlock()
		w.log.Info("delay set", "delay", d)
	})
	set := func(cut bool) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			dc := r.URL.Query().Get("dc")
			if dc == "" && cut || dc != "" && !slices.Contains(w.dcs, dc) {
				http.Error(rw, fmt.Sprintf("dc: want one of %v", w.dcs), http.StatusBadRequest)
				return
			}
			w.mu.Lock()
			if dc == "" {
				clear(w.cut)
			} else {
				w.cut[dc] = cut
			}
			w.apply()
			w.mu.Unlock()
			w.log.Info("links changed", "dc", orDefault(dc, "all"), "cut", cut)
		}
	}
	mux.HandleFunc("POST /cut", set(true))
	mux.HandleFunc("POST /heal", set(false))
	return mux
}
