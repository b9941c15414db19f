package stamp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cachetsync/cachet/stamp"
)

// ledger is a VersionSource over a map; it records the keys asked for.
type ledger struct {
	versions map[string]uint64
	err      error
	asked    []string
}

func (l *ledger) Version(_ context.Context, key string) (uint64, bool, error) {
	l.asked = append(l.asked, key)
	if l.err != nil {
		return 0, false, l.err
	}
	v, ok := l.versions[key]
	return v, ok, nil
}

func TestHandler(t *testing.T) {
	versions := map[string]uint64{
		"http://shop.example/items/1":        7,
		"http://shop.example/search?a=1&b=2": 3,
		"https://shop.example/items/1":       9,
		"http://shop.example/caf%C3%A9":      2,
		"http://shop.example:8080/items/1":   4,
	}
	tests := []struct {
		name   string
		method string
		target string
		tls    bool
		err    error
		want   string // "" when the header must be absent
		asked  string // the key looked up, "" when none
	}{
		{name: "get", method: "GET", target: "http://shop.example/items/1", want: "7", asked: "http://shop.example/items/1"},
		{name: "head", method: "HEAD", target: "http://shop.example/items/1", want: "7", asked: "http://shop.example/items/1"},
		{name: "query sorted", method: "GET", target: "http://shop.example/search?b=2&a=1", want: "3", asked: "http://shop.example/search?a=1&b=2"},
		{name: "escapes upper-cased", method: "GET", target: "http://shop.example/caf%c3%a9", want: "2", asked: "http://shop.example/caf%C3%A9"},
		{name: "tls is https", method: "GET", target: "https://shop.example/items/1", tls: true, want: "9", asked: "https://shop.example/items/1"},
		{name: "port kept", method: "GET", target: "http://shop.example:8080/items/1", want: "4", asked: "http://shop.example:8080/items/1"},
		{name: "default port dropped", method: "GET", target: "http://shop.example:80/items/1", want: "7", asked: "http://shop.example/items/1"},
		{name: "unknown key", method: "GET", target: "http://shop.example/items/2", asked: "http://shop.example/items/2"},
		{name: "lookup fails", method: "GET", target: "http://shop.example/items/1", err: errors.New("ledger down"), asked: "http://shop.example/items/1"},
		{name: "post not stamped", method: "POST", target: "http://shop.example/items/1"},
		{name: "not a key", method: "GET", target: "http://shop.example:0/items/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &ledger{versions: versions, err: tt.err}
			served := false
			h := stamp.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				served = true
				w.WriteHeader(http.StatusOK)
			}), l)
			req := httptest.NewRequest(tt.method, tt.target, nil)
			req.URL.Scheme, req.URL.Host = "", "" // as a server receives it: path only
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if !served {
				t.Fatal("the wrapped handler did not run")
			}
			if got := rec.Header().Get(stamp.Header); got != tt.want {
				t.Errorf("%s = %q, want %q", stamp.Header, got, tt.want)
			}
			var asked string
			if len(l.asked) == 1 {
				asked = l.asked[0]
			} else if len(l.asked) > 1 {
				t.Fatalf("looked up %d times: %q", len(l.asked), l.asked)
			}
			if asked != tt.asked {
				t.Errorf("looked up %q, want %q", asked, tt.asked)
			}
		})
	}
}

// The version is looked up before the wrapped handler builds the response,
// so a stamp is never newer than the data the response was built from.
func TestHandlerLooksUpBeforeServing(t *testing.T) {
	l := &ledger{versions: map[string]uint64{"http://shop.example/items/1": 1}}
	h := stamp.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		l.versions["http://shop.example/items/1"] = 2 // invalidated while the response is built
		_, _ = w.Write([]byte("old data"))
	}), l)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://shop.example/items/1", nil))
	if got := rec.Header().Get(stamp.Header); got != "1" {
		t.Errorf("%s = %q, want the version before serving, 1", stamp.Header, got)
	}
}

func TestRequestURL(t *testing.T) {
	abs := httptest.NewRequest("GET", "http://proxy.example/x?y=1", nil)
	if got := stamp.RequestURL(abs); got != "http://proxy.example/x?y=1" {
		t.Errorf("absolute: %q", got)
	}
	rel := httptest.NewRequest("GET", "/x?y=1", nil)
	rel.Host = "shop.example"
	if got := stamp.RequestURL(rel); got != "http://shop.example/x?y=1" {
		t.Errorf("relative: %q", got)
	}
}
