package purgeapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/cachekey"
)

func TestParseScope(t *testing.T) {
	cases := []struct {
		in     string
		want   string // String() of the parsed scope
		reason ScopeReason
	}{
		{"read", "read", ""},
		{"purge:tags", "purge:tags", ""},
		{"purge:*", "purge:*", ""},
		{"prefix:HTTPS://Shop.Example/assets/", "prefix:https://shop.example/assets/", ""},
		{"prefix:https://shop.example", "prefix:https://shop.example/", ""},
		{"host:Shop.Example", "host:shop.example", ""},
		{"host:[::1]", "host:[::1]", ""},
		{"tag:product-42", "tag:product-42", ""},
		{"origin:https://shop.example:443", "origin:https://shop.example", ""},
		{"", "", ScopeEmpty},
		{"write", "", ScopeUnknownKind},
		{"keys:img:a", "", ScopeUnknownKind},
		{"purge:urls", "", ScopeUnknownVerb},
		{"purge:", "", ScopeUnknownVerb},
		{"prefix:img:", "", ScopeBadValue},
		{"prefix:https://shop.example/?a=1", "", ScopeBadValue},
		{"prefix:https://user@shop.example/", "", ScopeBadValue},
		{"host:1.2.3.256", "", ScopeBadValue},
		{"tag:Sale", "", ScopeBadValue},
		{"origin:https://shop.example/a", "", ScopeBadValue},
	}
	for _, tc := range cases {
		s, err := ParseScope(tc.in)
		var se *ScopeError
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("ParseScope(%q): %v", tc.in, err)
		case tc.reason == "" && s.String() != tc.want:
			t.Errorf("ParseScope(%q) = %s, want %s", tc.in, s, tc.want)
		case tc.reason != "" && !errors.As(err, &se):
			t.Errorf("ParseScope(%q) = %v, want a *ScopeError", tc.in, err)
		case tc.reason != "" && se.Reason != tc.reason:
			t.Errorf("ParseScope(%q) reason %s, want %s", tc.in, se.Reason, tc.reason)
		}
	}
	var ke *cachekey.Error
	if _, err := ParseScope("prefix:https://user@shop.example/"); !errors.As(err, &ke) || ke.Reason != cachekey.ReasonUserinfo {
		t.Errorf("the key's own error is not wrapped: %v", err)
	}
}

func TestParseScopesDropsDuplicatesAndFailsWhole(t *testing.T) {
	ss, err := ParseScopes("purge:tags,prefix:https://shop.example/assets/,purge:tags,prefix:HTTPS://shop.example/assets/")
	if err != nil || len(ss) != 2 {
		t.Fatalf("%v, %v", ss, err)
	}
	if _, err := ParseScopes("purge:tags,,read"); err == nil {
		t.Error("an empty item was accepted")
	}
}

// FuzzParseScopes checks that whatever parses prints back to itself: a
// stored scope means what was granted.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"read", "purge:tags,prefix:https://shop.example/assets/", "host:Bücher.example", "origin:http://[::1]:80", "tag:a,tag:b", "prefix:https://a/%2e%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ss, err := ParseScopes(in)
		if err != nil {
			var se *ScopeError
			if !errors.As(err, &se) {
				t.Fatalf("ParseScopes(%q) error %T %v is not a *ScopeError", in, err, err)
			}
			return
		}
		for _, s := range ss {
			again, err := ParseScope(s.String())
			if err != nil || again != s {
				t.Fatalf("%q: scope %v prints as %q which parses to %v, %v", in, s, s.String(), again, err)
			}
		}
	})
}

// Two tokens with different grants against the same server.
func TestScopesTwoTokens(t *testing.T) {
	h := newHarness(t, nil)
	shopSecret, shop, _ := h.tokens.Create(TokenSpec{Scopes: "purge:tags,prefix:https://shop.example/assets/"}, h.clock.Now())
	blogSecret, blog, _ := h.tokens.Create(TokenSpec{Scopes: "host:blog.example,tag:news"}, h.clock.Now())
	h.ledger.entries = map[string]Entry{"https://shop.example/assets/app.js": {Key: "https://shop.example/assets/app.js"}}
	cases := []struct {
		who    string
		body   string
		status int
		denied string // in the message of a 403
	}{
		{"shop", `{"keys":["https://shop.example/assets/app.js"]}`, 200, ""},
		{"shop", `{"keys":["https://shop.example/cart"]}`, 403, "https://shop.example/cart"},
		{"shop", `{"keys":["https://shop.example/assets/a.css","https://shop.example/cart"]}`, 403, "https://shop.example/cart"},
		{"shop", `{"keys":["https://shop.example/assets/../cart"]}`, 403, "https://shop.example/cart"},
		{"shop", `{"keys":["http://shop.example/assets/app.js"]}`, 403, "http://shop.example/assets/app.js"},
		{"shop", `{"prefixes":["https://shop.example/assets/img/"]}`, 200, ""},
		{"shop", `{"prefixes":["https://shop.example/"]}`, 403, "https://shop.example/"},
		{"shop", `{"prefixes":["https://shop.example/static/"]}`, 403, "https://shop.example/static/"},
		{"shop", `{"tags":["anything","news"]}`, 200, ""},
		{"shop", `{"hosts":["shop.example"]}`, 403, "shop.example"},
		{"shop", `{"everything":"https://shop.example"}`, 403, "https://shop.example"},
		{"blog", `{"keys":["https://blog.example/post/1","http://BLOG.example:8080/"]}`, 200, ""},
		{"blog", `{"keys":["https://shop.example/assets/app.js"]}`, 403, "https://shop.example/assets/app.js"},
		{"blog", `{"keys":["https://blog.example.evil/"]}`, 403, "https://blog.example.evil/"},
		{"blog", `{"tags":["news"]}`, 200, ""},
		{"blog", `{"tags":["news","sale"]}`, 403, "sale"},
		{"blog", `{"hosts":["Blog.Example"]}`, 200, ""},
		{"blog", `{"hosts":["shop.example"]}`, 403, "shop.example"},
		{"blog", `{"prefixes":["https://blog.example/drafts/"]}`, 200, ""},
	}
	secrets := map[string]string{"shop": shopSecret, "blog": blogSecret}
	ids := map[string]string{"shop": shop.ID, "blog": blog.ID}
	for _, tc := range cases {
		before := len(h.ledger.writes())
		w := h.do("POST", "/v1/purge", secrets[tc.who], tc.body)
		if w.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.who, tc.body, w.Code, tc.status, w.Body)
			continue
		}
		calls := h.ledger.writes()[before:]
		if tc.status == http.StatusForbidden {
			p := problem(t, w.Body.Bytes())
			if p.Code != CodeOutOfScope || !strings.Contains(p.Message, `"`+tc.denied+`"`) {
				t.Errorf("%s %s: %+v, want out_of_scope naming %q", tc.who, tc.body, p, tc.denied)
			}
			if len(calls) != 0 {
				t.Errorf("%s %s: refused but submitted", tc.who, tc.body)
			}
			continue
		}
		if len(calls) != 1 || calls[0].opts.TokenID != ids[tc.who] {
			t.Errorf("%s %s: ledger calls %+v, want one naming token %s", tc.who, tc.body, calls, ids[tc.who])
		}
	}
	// Reads follow the resource scopes.
	for _, tc := range []struct {
		who, path string
		status    int
	}{
		{"shop", "/v1/entries/https:%2F%2Fshop.example%2Fassets%2Fapp.js", 200},
		{"shop", "/v1/history/https:%2F%2Fshop.example%2Fcart", 403},
		{"blog", "/v1/entries/https:%2F%2Fshop.example%2Fassets%2Fapp.js", 403},
		{"blog", "/v1/tx/" + strings.Repeat("0a", 32), 200},
	} {
		if w := h.do("GET", tc.path, secrets[tc.who], ""); w.Code != tc.status {
			t.Errorf("%s GET %s: %d, want %d: %s", tc.who, tc.path, w.Code, tc.status, w.Body)
		}
	}
}

func TestRateLimitPerTokenWithFakeClock(t *testing.T) {
	h := newHarness(t, nil)
	slow := h.token(TokenSpec{Scopes: "purge:keys", Rate: "2/s"})
	other := h.token(TokenSpec{Scopes: "purge:keys", Rate: "2/s"})
	body := `{"keys":["img:a"]}`
	status := func(secret string) (int, string) {
		w := h.do("POST", "/v1/purge", secret, body)
		return w.Code, w.Header().Get("Retry-After")
	}
	for i := 0; i < 2; i++ {
		if c, _ := status(slow); c != 200 {
			t.Fatalf("request %d within the burst: %d", i, c)
		}
	}
	c, ra := status(slow)
	if c != http.StatusTooManyRequests || ra != "1" {
		t.Fatalf("over the rate: %d Retry-After %q, want 429 and 1", c, ra)
	}
	if n := len(h.ledger.writes()); n != 2 {
		t.Errorf("%d submits, want 2: a limited request reached the ledger", n)
	}
	if c, _ := status(other); c != 200 {
		t.Errorf("another token was limited: %d", c)
	}
	h.clock.Add(499 * time.Millisecond)
	if c, _ := status(slow); c != http.StatusTooManyRequests {
		t.Errorf("before half a second refilled one request: %d", c)
	}
	h.clock.Add(time.Millisecond)
	if c, _ := status(slow); c != 200 {
		t.Errorf("after half a second: %d", c)
	}
	if c, _ := status(slow); c != http.StatusTooManyRequests {
		t.Errorf("the refill was spent: %d", c)
	}
	h.clock.Add(time.Hour) // the bucket holds at most the burst
	for i := 0; i < 3; i++ {
		c, _ := status(slow)
		if want := map[bool]int{true: 200, false: 429}[i < 2]; c != want {
			t.Errorf("after an idle hour, request %d: %d, want %d", i, c, want)
		}
	}
	w := h.do("POST", "/v1/purge", slow, body)
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != CodeRateLimited {
		t.Errorf("429 body %s", w.Body)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{"50/s": {50, time.Second}, "600/m": {600, time.Minute}, "1/h": {1, time.Hour}, "5/250ms": {5, 250 * time.Millisecond}} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
		if r, _ := ParseRate(in); r.String() != in {
			t.Errorf("%q prints as %q", in, r)
		}
	}
	for _, in := range []string{"", "50", "0/s", "-1/s", "x/s", "5/d", "5/-1s", "5/0s"} {
		var re *RateError
		if _, err := ParseRate(in); !errors.As(err, &re) {
			t.Errorf("ParseRate(%q) = %v, want a *RateError", in, err)
		}
	}
}
