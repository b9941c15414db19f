// Package demo is the demo origin of `cachet dev`: a small site whose
// pages use the browser SDK.
package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachetsync/cachet/push"
)

// The demo origin serves the SDK bundles and the demo page from the SDK's build
// folder, mints push tokens for its own channels, and serves cacheable demo
// resources whose cache keys are its own canonical URLs, so that
// `cachet invalidate http://127.0.0.1:8080/items/1` on the ledger evicts
// them from the browser once the relay and push run.
//
// It is for development only: GET /token hands a valid push token to
// anyone who asks.

// OriginConfig configures the demo origin handler.
type OriginConfig struct {
	Origin   string        // this site's origin as pages see it: http://127.0.0.1:8080
	PushURL  string        // where pages reach push: ws://127.0.0.1:8090/ws
	Secret   []byte        // HS256 secret shared with the push server
	Audience string        // token audience (default push.DefaultAudience)
	SDKDir   string        // the SDK's build folder: cachet.js, cachet-sw.js, demo.html
	TokenTTL time.Duration // lifetime of minted tokens (default 5 minutes)
	Now      func() time.Time
}

// Limits of the demo origin: items /items/1 to /items/MaxItem, token
// lifetimes asked for with ?ttl=, and the max-age of an item.
const (
	MaxItem     = 10_000
	MinTokenTTL = 5 * time.Second
	MaxTokenTTL = time.Hour
	ItemMaxAge  = 300 // seconds
)

// DefaultAddr is where the demo origin listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8080"

// TagsHeader carries a demo resource's cache tags, comma-separated, in the
// header CDNs read (Cloudflare's Cache-Tag): the Service Worker records them
// with the copy, so a purge of the tag evicts it.
const TagsHeader = "Cache-Tag"

// site serves the demo origin.
type site struct {
	cfg  OriginConfig
	mu   sync.Mutex
	revs map[int]int // item → revision, bumped by POST /items/<n>
}

// NewOrigin returns the demo origin's handler.
func NewOrigin(cfg OriginConfig) http.Handler {
	if cfg.Audience == "" {
		cfg.Audience = push.DefaultAudience
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &site{cfg: cfg, revs: map[int]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.file("demo.html", "text/html; charset=utf-8"))
	for _, f := range []string{"cachet.js", "cachet-sw.js", "cachekey.js"} {
		mux.HandleFunc("GET /"+f, s.file(f, "text/javascript; charset=utf-8"))
	}
	mux.HandleFunc("GET /config", s.serveConfig)
	mux.HandleFunc("GET /token", s.serveToken)
	mux.HandleFunc("GET /items/{n}", s.serveItem)
	mux.HandleFunc("POST /items/{n}", s.editItem)
	return mux
}

// file serves one file of the SDK's build folder, never from a cache.
func (s *site) file(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(s.cfg.SDKDir, name))
		if err != nil {
			http.Error(w, fmt.Sprintf("%s not found in %s: build the SDK with `make sdk`", name, s.cfg.SDKDir), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	}
}

// serveConfig tells the demo page where push is and which channels to follow.
func (s *site) serveConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"origin":   s.cfg.Origin,
		"pushUrl":  s.cfg.PushURL,
		"channels": []string{"origin:" + s.cfg.Origin},
	})
}

// serveToken mints a short-lived HS256 push token for this origin's channel
// and every tag channel. ?ttl=<seconds> (5 to 3600) asks for another lifetime.
func (s *site) serveToken(w http.ResponseWriter, r *http.Request) {
	ttl := s.cfg.TokenTTL
	if q := r.URL.Query().Get("ttl"); q != "" {
		n, err := strconv.Atoi(q)
		d := time.Duration(n) * time.Second
		if err != nil || d < MinTokenTTL || d > MaxTokenTTL {
			http.Error(w, fmt.Sprintf("ttl must be %d to %d seconds", int(MinTokenTTL.Seconds()), int(MaxTokenTTL.Seconds())), http.StatusBadRequest)
			return
		}
		ttl = d
	}
	m := push.Minter{Secret: s.cfg.Secret, Audience: s.cfg.Audience, Subject: "cachet-dev-origin", TTL: ttl, Now: s.cfg.Now}
	tok, err := m.Mint([]string{"origin:" + s.cfg.Origin, "tag:*"})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, tok)
}

// item parses /items/<n>: a decimal from 1 to MaxItem.
func item(r *http.Request) (int, bool) {
	p := r.PathValue("n")
	n, err := strconv.Atoi(p)
	return n, err == nil && n >= 1 && n <= MaxItem && strconv.Itoa(n) == p
}

// serveItem serves a cacheable JSON resource with an ETag naming its
// revision, max-age and its tags; If-None-Match with that ETag gets 304.
func (s *site) serveItem(w http.ResponseWriter, r *http.Request) {
	n, ok := item(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	rev := s.revs[n]
	s.mu.Unlock()
	etag := fmt.Sprintf(`"item-%d-r%d"`, n, rev)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", fmt.Sprintf("max-age=%d", ItemMaxAge))
	h.Set(TagsHeader, fmt.Sprintf("catalog, item-%d", n))
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": n, "name": fmt.Sprintf("Item %d", n), "price": float64(100*n+rev) / 100, "revision": rev,
	})
}

// editItem changes an item (its revision, so its body and ETag), as a
// publisher would before invalidating it on the ledger.
func (s *site) editItem(w http.ResponseWriter, r *http.Request) {
	n, ok := item(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.revs[n]++
	rev := s.revs[n]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": n, "revision": rev, "key": s.cfg.Origin + "/items/" + strconv.Itoa(n)})
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
