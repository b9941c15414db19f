package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// originAllowed reports whether a page origin may use the server: every
// origin when no allow-list is configured.
func (s *Server) originAllowed(o string) bool {
	return len(s.cfg.AllowedOrigins) == 0 || slices.Contains(s.cfg.AllowedOrigins, o)
}

// cors answers the CORS side of a request to /sse, /receipts or /spans:
// an allowed Origin is echoed in Access-Control-Allow-Origin, a foreign
// one is refused with 403 (false: the response is written). Requests
// without Origin (not from a page) pass untouched.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if !s.originAllowed(o) {
		s.m.refused.WithLabelValues("origin").Inc()
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", o)
	h.Add("Vary", "Origin")
	return true
}

// servePreflight answers a CORS preflight for /sse, /receipts and /spans.
func (s *Server) servePreflight(methods, headers string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == "" {
			http.Error(w, "not a CORS preflight", http.StatusBadRequest)
			return
		}
		if !s.cors(w, r) {
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", methods)
		h.Set("Access-Control-Allow-Headers", headers)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	}
}

// postLimiter applies limits.framesPerSecond to the POST endpoints, per
// client IP: each request counts as one frame.
type postLimiter struct {
	mu      sync.Mutex
	perSec  int
	buckets map[string]*bucket
}

func (l *postLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil || len(l.buckets) > 100_000 {
		l.buckets = map[string]*bucket{} // forgetting full buckets only forgives
	}
	b := l.buckets[ip]
	if b == nil {
		b = newBucket(l.perSec)
		l.buckets[ip] = b
	}
	return b.allow(now)
}

// post checks origin, rate, token and body size of a POST to /receipts or
// /spans and returns the verified claims and the body; on failure the
// response is written and ok is false.
func (s *Server) post(w http.ResponseWriter, r *http.Request) (claims *Claims, body []byte, ok bool) {
	if !s.cors(w, r) {
		return nil, nil, false
	}
	if s.closing.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if !s.posts.allow(ip, time.Now()) {
		s.m.refused.WithLabelValues("rate").Inc()
		writeHTTPError(w, http.StatusTooManyRequests, closeErr(CodeRateLimited, "too many requests per second"))
		return nil, nil, false
	}
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		writeHTTPError(w, http.StatusUnauthorized, closeErr(CodeTokenInvalid, "need Authorization: Bearer <token>"))
		return nil, nil, false
	}
	claims, err = s.cfg.Verifier.Verify(token)
	if err != nil {
		ce := asCloseError(err)
		s.m.refused.WithLabelValues(ce.Code.String()).Inc()
		writeHTTPError(w, httpStatus(ce), ce)
		return nil, nil, false
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.cfg.MaxFrameBytes)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeHTTPError(w, http.StatusRequestEntityTooLarge, closeErr(CodeMessageTooBig, "body over limits.maxFrameBytes"))
		} else {
			writeHTTPError(w, http.StatusBadRequest, closeErr(CodeProtocol, "could not read the body"))
		}
		return nil, nil, false
	}
	return claims, body, true
}

// serveReceipts is POST /receipts: a receipts frame from a client without
// a WebSocket (SSE, or the SDK flushing its offline queue). The answer is
// the receipted frame; 503 when Kafka did not take the reads.
func (s *Server) serveReceipts(w http.ResponseWriter, r *http.Request) {
	claims, body, ok := s.post(w, r)
	if !ok {
		return
	}
	f, err := ParseClientFrame(body)
	if err == nil && f.T != TypeReceipts {
		err = &FrameError{Reason: "want a receipts frame"}
	}
	if err != nil {
		writeHTTPError(w, http.StatusBadRequest, &CloseError{Code: CodeProtocol, Message: err.Error(), Err: err})
		return
	}
	n, dropped, err := s.acceptReads(r.Context(), f.Reads, claims.Allows)
	if err != nil {
		writeHTTPError(w, http.StatusServiceUnavailable, &CloseError{Code: CodeInternal, Message: "reads not stored, send them again", Err: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(receipted(n, dropped).data)
}

type spansResult struct {
	Exported int `json:"exported"`
	Dropped  int `json:"dropped"`
}

// serveSpans is POST /spans: one span frame, or a JSON array of at most
// MaxSpansPerPost span frames. Out-of-bounds spans are dropped and counted;
// the answer says how many were exported.
func (s *Server) serveSpans(w http.ResponseWriter, r *http.Request) {
	_, body, ok := s.post(w, r)
	if !ok {
		return
	}
	var raws []json.RawMessage
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil || len(raws) > MaxSpansPerPost {
			writeHTTPError(w, http.StatusBadRequest, closeErr(CodeProtocol, "want a span frame or an array of at most 100"))
			return
		}
	} else {
		raws = []json.RawMessage{body}
	}
	frames := make([]ClientFrame, len(raws))
	for i, raw := range raws {
		f, err := ParseClientFrame(raw)
		if err == nil && f.T != TypeSpan {
			err = &FrameError{Reason: "want span frames"}
		}
		if err != nil {
			writeHTTPError(w, http.StatusBadRequest, &CloseError{Code: CodeProtocol, Message: err.Error(), Err: err})
			return
		}
		frames[i] = f
	}
	var res spansResult
	for _, f := range frames {
		if s.exportSpan(f) == "" {
			res.Exported++
		} else {
			res.Dropped++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(mustJSON(res))
}

// httpStatus maps a refusal to the HTTP status of the SSE and POST
// endpoints: 401 token, 403 audience or channel, 400 anything else.
func httpStatus(ce *CloseError) int {
	switch {
	case ce.Code >= 4100 && ce.Code < 4200 || ce.Code == CodeTokenInvalid || ce.Code == CodeAlgorithm:
		return http.StatusUnauthorized
	case ce.Code == CodeAudience || ce.Code == CodeChannelForbidden:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// writeHTTPError answers with status and the error frame as JSON body.
func writeHTTPError(w http.ResponseWriter, status int, ce *CloseError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(mustJSON(ErrorFrame{T: TypeError, Code: int(ce.Code), Message: ce.Message}))
}
