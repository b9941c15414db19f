package demo_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/demo"
	"github.com/cachetsync/cachet/push"
)

const testOrigin = "http://127.0.0.1:8080"

func newTestOrigin(t *testing.T, now time.Time) http.Handler {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"demo.html": "<!doctype html>demo", "cachet.js": "export {}", "cachet-sw.js": "//sw"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return demo.NewOrigin(demo.OriginConfig{
		Origin: testOrigin, PushURL: "ws://127.0.0.1:8090/ws", Secret: []byte("origin-test-secret"), SDKDir: dir,
		TokenTTL: 2 * time.Minute, Now: func() time.Time { return now },
	})
}

func do(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestOriginTokenClaims(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	h := newTestOrigin(t, now)
	v, err := push.NewVerifier([]byte("origin-test-secret"), nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query   string
		status  int
		wantTTL time.Duration
	}{
		{"", 200, 2 * time.Minute},
		{"?ttl=10", 200, 10 * time.Second},
		{"?ttl=3600", 200, time.Hour},
		{"?ttl=4", 400, 0},
		{"?ttl=3601", 400, 0},
		{"?ttl=abc", 400, 0},
	}
	for _, c := range cases {
		rec := do(h, "GET", "/token"+c.query, nil)
		if rec.Code != c.status {
			t.Errorf("/token%s: status %d, want %d", c.query, rec.Code, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("/token%s: Cache-Control %q, want no-store", c.query, cc)
		}
		claims, err := v.Verify(rec.Body.String())
		if err != nil {
			t.Fatalf("/token%s: push refuses the token: %v", c.query, err)
		}
		if got := claims.Expiry().Sub(now); got != c.wantTTL {
			t.Errorf("/token%s: expires in %v, want %v", c.query, got, c.wantTTL)
		}
		if !slices.Equal(claims.Channels, []string{"origin:" + testOrigin, "tag:*"}) {
			t.Errorf("/token%s: channels %q", c.query, claims.Channels)
		}
		if !claims.Allows("origin:"+testOrigin) || !claims.Allows("tag:catalog") || claims.Allows("origin:https://shop.example") {
			t.Errorf("/token%s: allows the wrong channels: %q", c.query, claims.Channels)
		}
		other, _ := push.NewVerifier([]byte("another-secret"), nil, "", "")
		if _, err := other.Verify(rec.Body.String()); err == nil {
			t.Errorf("/token%s: a verifier with another secret accepted it", c.query)
		}
	}
}

func TestOriginItems(t *testing.T) {
	h := newTestOrigin(t, time.Now())
	rec := do(h, "GET", "/items/7", nil)
	if rec.Code != 200 {
		t.Fatalf("GET /items/7: %d", rec.Code)
	}
	etag := rec.Header().Get("ETag")
	want := map[string]string{"Cache-Control": "max-age=300", "Content-Type": "application/json", demo.TagsHeader: "catalog, item-7"}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if !regexp.MustCompile(`^"[a-z0-9-]+"$`).MatchString(etag) {
		t.Errorf("ETag %q is not a strong entity tag", etag)
	}
	var body struct {
		ID       int `json:"id"`
		Revision int `json:"revision"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.ID != 7 {
		t.Fatalf("body %q: %v", rec.Body, err)
	}

	// If-None-Match: 304 without a body, with the same validators.
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		rec := do(h, "GET", "/items/7", map[string]string{"If-None-Match": inm})
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag || rec.Header().Get("Cache-Control") != "max-age=300" {
			t.Errorf("If-None-Match %s: %d %q headers %v, want 304 with the ETag", inm, rec.Code, rec.Body, rec.Header())
		}
	}
	if rec := do(h, "GET", "/items/7", map[string]string{"If-None-Match": `"item-7-r9"`}); rec.Code != 200 {
		t.Errorf("a foreign ETag got %d, want 200", rec.Code)
	}

	// An edit changes the ETag: the old one no longer matches.
	if rec := do(h, "POST", "/items/7", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), testOrigin+"/items/7") {
		t.Fatalf("POST /items/7: %d %q", rec.Code, rec.Body)
	}
	rec = do(h, "GET", "/items/7", map[string]string{"If-None-Match": etag})
	if rec.Code != 200 || rec.Header().Get("ETag") == etag {
		t.Errorf("after an edit: %d ETag %q (was %q), want 200 with a new ETag", rec.Code, rec.Header().Get("ETag"), etag)
	}
	if other := do(h, "GET", "/items/8", nil).Header().Get("ETag"); other == etag {
		t.Errorf("items 7 and 8 share ETag %q", etag)
	}

	for _, bad := range []string{"/items/0", "/items/-1", "/items/007", "/items/10001", "/items/x", "/items/"} {
		if rec := do(h, "GET", bad, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, rec.Code)
		}
	}
}

// The demo resources' URLs are their own canonical cache keys, so an
// invalidation of that URL on the ledger reaches the browser's entry.
func TestOriginItemKeysAreCanonical(t *testing.T) {
	cases := []struct{ origin, key, keyOrigin string }{
		{testOrigin, testOrigin + "/items/12", testOrigin},
		{"http://127.0.0.1:80", "http://127.0.0.1/items/12", "http://127.0.0.1"},
		{"http://[::1]:8080", "http://[::1]:8080/items/12", "http://[::1]:8080"},
	}
	for _, c := range cases {
		key, err := cachekey.Canonical(c.origin + "/items/12")
		if err != nil || key != c.key {
			t.Errorf("canonical(%s/items/12) = %q, %v; want %q", c.origin, key, err, c.key)
		}
		if got := cachekey.Origin(key); got != c.keyOrigin {
			t.Errorf("origin of %s = %q, want %q", key, got, c.keyOrigin)
		}
	}
}

func TestOriginServesSDK(t *testing.T) {
	h := newTestOrigin(t, time.Now())
	cases := []struct{ path, contentType, body string }{
		{"/", "text/html; charset=utf-8", "<!doctype html>demo"},
		{"/cachet.js", "text/javascript; charset=utf-8", "export {}"},
		{"/cachet-sw.js", "text/javascript; charset=utf-8", "//sw"},
	}
	for _, c := range cases {
		rec := do(h, "GET", c.path, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != c.contentType || rec.Body.String() != c.body || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d %q %q", c.path, rec.Code, rec.Header(), rec.Body)
		}
	}
	if rec := do(h, "GET", "/cachekey.js", nil); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "make sdk") {
		t.Errorf("a file missing from the build: %d %q, want 404 naming make sdk", rec.Code, rec.Body)
	}
	var cfg struct {
		Origin, PushURL string
		Channels        []string
	}
	if err := json.NewDecoder(do(h, "GET", "/config", nil).Body).Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Origin != testOrigin || cfg.PushURL != "ws://127.0.0.1:8090/ws" || !slices.Equal(cfg.Channels, []string{"origin:" + testOrigin}) {
		t.Errorf("/config = %+v", cfg)
	}
}
