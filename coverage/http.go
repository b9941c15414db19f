package coverage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Path is the route Handler serves, as an http.ServeMux pattern.
const Path = "GET /v1/coverage/{txid}"

// errorBody is the JSON body of a refusal.
type errorBody struct {
	Error  string  `json:"error"`
	TxID   string  `json:"txId,omitempty"`
	Window *Window `json:"window,omitempty"`
}

// Handler serves GET /v1/coverage/{txid}: 200 with the transaction's
// Report, 404 with {"error", "txId", "window"} when the transaction is not
// in the window. Mount it on a mux for "/v1/coverage/" (it routes the rest
// itself) or serve it alone.
func (t *Tracker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		txID := r.PathValue("txid")
		rep, ok := t.Tx(txID)
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{
				Error: fmt.Sprintf("transaction %q is not in the coverage window (%d transitions of at most %d, none older than %s): unknown to this daemon, not committed yet, or already out of the window",
					txID, rep.Window.Transitions, rep.Window.MaxTransitions, seconds(rep.Window.MaxAgeSeconds)),
				TxID: txID, Window: &rep.Window})
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Client fetches coverage reports from an analytics daemon's ops listener.
type Client struct {
	// Base is the listener's URL, e.g. "http://127.0.0.1:9465".
	Base string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
}

// NotFoundError is the daemon's answer for a transaction outside its window.
type NotFoundError struct {
	TxID    string
	Message string // the daemon's explanation
	Window  Window
}

func (e *NotFoundError) Error() string { return "coverage: " + e.Message }

// StatusError is any other answer than 200 or 404.
type StatusError struct {
	Code int
	Body string // at most 1 KiB of it
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("coverage: HTTP %d: %s", e.Code, e.Body)
}

var defaultHTTP = &http.Client{Timeout: 10 * time.Second}

// Tx fetches the coverage of transaction txID. A transaction the daemon
// does not have is a *NotFoundError; another status a *StatusError.
func (c *Client) Tx(ctx context.Context, txID string) (Report, error) {
	if txID == "" {
		return Report{}, errors.New("coverage: empty transaction ID")
	}
	u := strings.TrimSuffix(c.Base, "/") + "/v1/coverage/" + url.PathEscape(txID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Report{}, fmt.Errorf("coverage: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Report{}, fmt.Errorf("coverage: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var r Report
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
			return Report{}, fmt.Errorf("coverage: decode report: %w", err)
		}
		return r, nil
	case http.StatusNotFound:
		var b errorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&b); err == nil && b.Error != "" {
			e := &NotFoundError{TxID: txID, Message: b.Error}
			if b.Window != nil {
				e.Window = *b.Window
			}
			return Report{}, e
		}
		return Report{}, &NotFoundError{TxID: txID, Message: fmt.Sprintf("transaction %q not found (%s)", txID, u)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return Report{}, &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}
