package purgeapi

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"time"

	"github.com/cachetsync/cachet/cachekey"
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the API's OpenAPI 3 document.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ Grant) *apiError {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
	return nil
}

func (s *Server) purge(w http.ResponseWriter, r *http.Request, g Grant) *apiError {
	p, e := decodePurge(r, s.cfg.MaxBodyBytes, w)
	if e != nil {
		return e
	}
	if err := g.Scopes.AllowPurge(p.kind, p.targets); err != nil {
		return refuse(http.StatusForbidden, CodeOutOfScope, err.Error())
	}
	p.opts.TokenID = g.TokenID
	// The submit outlives the client and the server's shutdown: once sent,
	// a purge runs to its commit (or its timeout) and is answered.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.SubmitTimeout)
	defer cancel()
	start := time.Now()
	res, err := s.submit(ctx, p)
	if err != nil {
		e := fromLedger(err)
		s.metrics.observeSubmit(p.kind, e.status, time.Since(start))
		s.cfg.Logger.Warn("purge failed", "kind", p.kind, "token", g.TokenID, "err", err)
		return e
	}
	s.metrics.observeSubmit(p.kind, http.StatusOK, time.Since(start))
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) submit(ctx context.Context, p purge) (PurgeResult, error) {
	l := s.cfg.Ledger
	switch p.kind {
	case PurgeKeys:
		return l.InvalidateKeys(ctx, p.targets, p.opts)
	case PurgeTags:
		return l.PurgeTags(ctx, p.targets, p.opts)
	case PurgePrefixes:
		return l.PurgePrefixes(ctx, p.targets, p.opts)
	case PurgeHosts:
		return l.PurgeHosts(ctx, p.targets, p.opts)
	case PurgeEverything:
		return l.PurgeOrigin(ctx, p.targets[0], p.opts)
	}
	return PurgeResult{}, fmt.Errorf("purge kind %q", p.kind)
}

// readKey canonicalizes the {key} path value and checks the read scope.
func readKey(r *http.Request, g Grant) (string, *apiError) {
	key, err := cachekey.Canonical(r.PathValue("key"))
	if err != nil {
		return "", refuse(http.StatusBadRequest, CodeBadKey, err.Error())
	}
	if err := g.Scopes.AllowRead(key); err != nil {
		return "", refuse(http.StatusForbidden, CodeOutOfScope, err.Error())
	}
	return key, nil
}

func (s *Server) entry(w http.ResponseWriter, r *http.Request, g Grant) *apiError {
	key, e := readKey(r, g)
	if e != nil {
		return e
	}
	entry, err := s.cfg.Ledger.Get(r.Context(), key)
	if err != nil {
		return fromLedger(err)
	}
	writeJSON(w, http.StatusOK, entry)
	return nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, g Grant) *apiError {
	key, e := readKey(r, g)
	if e != nil {
		return e
	}
	h, err := s.cfg.Ledger.History(r.Context(), key)
	if err != nil {
		return fromLedger(err)
	}
	if h == nil {
		h = []HistoryRecord{}
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Server) tx(w http.ResponseWriter, r *http.Request, _ Grant) *apiError {
	id := r.PathValue("id")
	if !validTxID(id) {
		return refuse(http.StatusNotFound, CodeNotFound, "no transaction "+fmt.Sprintf("%q", id))
	}
	st, err := s.cfg.Ledger.TxStatus(r.Context(), id)
	if err != nil {
		return fromLedger(err)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// validTxID accepts Fabric's transaction IDs: lower-case hex SHA-256.
func validTxID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
