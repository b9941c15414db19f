package push_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cachetsync/cachet/push"
)

const shopCh = "origin:https://shop.example"

// TestBadTokensRefused: each kind of bad token gets its documented close code.
func TestBadTokensRefused(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	claims := func(mod func(*push.Claims)) *push.Claims {
		c := &push.Claims{Channels: []string{shopCh}, RegisteredClaims: jwt.RegisteredClaims{
			Audience: jwt.ClaimStrings{push.DefaultAudience}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(c *push.Claims, key []byte) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
		return s
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	forgedPayload := func() string { // a valid token whose channels were edited after signing
		parts := strings.Split(sign(claims(nil), secret), ".")
		p, _ := json.Marshal(claims(func(c *push.Claims) { c.Channels = []string{"origin:*"} }))
		parts[1] = base64.RawURLEncoding.EncodeToString(p)
		return strings.Join(parts, ".")
	}()
	for _, tc := range []struct {
		name  string
		token string
		code  push.CloseCode
	}{
		{"expired", sign(claims(func(c *push.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) }), secret), push.CodeTokenExpired},
		{"not yet valid", sign(claims(func(c *push.Claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }), secret), push.CodeTokenNotYetValid},
		{"wrong key", sign(claims(nil), []byte("another-secret-0123456789abcdef")), push.CodeTokenInvalid},
		{"forged payload", forgedPayload, push.CodeTokenInvalid},
		{"malformed", "not.a.jwt", push.CodeTokenInvalid},
		{"no exp", sign(claims(func(c *push.Claims) { c.ExpiresAt = nil }), secret), push.CodeTokenInvalid},
		{"alg none", none, push.CodeAlgorithm},
		{"wrong audience", sign(claims(func(c *push.Claims) { c.Audience = jwt.ClaimStrings{"someone-else"} }), secret), push.CodeAudience},
		{"channel not allowed", sign(claims(func(c *push.Claims) { c.Channels = []string{"tag:other"} }), secret), push.CodeChannelForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, srv.url, hello(tc.token, "", shopCh))
			if got := c.closeCode(); got != websocket.StatusCode(tc.code) {
				t.Fatalf("close code %d, want %d (%s)", got, tc.code, tc.code)
			}
		})
	}
}

// TestES256FromJWKS: a token signed with an EC key published in a JWKS is
// accepted; the same claims with a key not in the set are not.
func TestES256FromJWKS(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "k1",
		"x": enc(pub[1:33]), "y": enc(pub[33:])}}})
	v, err := push.NewVerifier(nil, jwks, "", "")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(k *ecdsa.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, &push.Claims{Channels: []string{shopCh}, RegisteredClaims: jwt.RegisteredClaims{
			Audience: jwt.ClaimStrings{push.DefaultAudience}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute))}})
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(k)
		return s
	}
	if c, err := v.Verify(mk(key)); err != nil || !c.Allows(shopCh) {
		t.Fatalf("valid ES256 token refused: %v", err)
	}
	var ce *push.CloseError
	if _, err := v.Verify(mk(other)); !errorsAs(err, &ce) || ce.Code != push.CodeTokenInvalid {
		t.Fatalf("token from another key: %v, want token-invalid", err)
	}
	// An HS256 token with no secret configured is an algorithm refusal.
	if _, err := v.Verify(token(t, []string{shopCh}, nil)); !errorsAs(err, &ce) || ce.Code != push.CodeAlgorithm {
		t.Fatalf("HS256 without a secret: %v, want algorithm", err)
	}
}

// TestTokenRefresh: refresh extends a live connection; an expired refresh
// closes it with token-expired.
func TestTokenRefresh(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	short := token(t, []string{shopCh}, func(c *push.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(3 * time.Second)) })
	c := dialWS(t, srv.url, hello(short, "", shopCh))
	c.next()
	c.sendJSON(map[string]any{"t": "refresh", "token": token(t, []string{shopCh}, nil)})
	if m := c.next(); m.T != "refreshed" {
		t.Fatalf("got %+v, want refreshed", m)
	}
	time.Sleep(4 * time.Second) // past the first token's expiry: still connected
	tr := newProducer(t, b).send("https://shop.example/after-refresh")
	if m := c.next(); m.Key != tr.Key {
		t.Fatalf("got %+v, want %s", m, tr.Key)
	}
	expired := token(t, []string{shopCh}, func(c *push.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) })
	c.sendJSON(map[string]any{"t": "refresh", "token": expired})
	if got := c.closeCode(); got != websocket.StatusCode(push.CodeTokenExpired) {
		t.Fatalf("close %d, want %d", got, push.CodeTokenExpired)
	}
}

func TestForeignOriginRefused(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.AllowedOrigins = []string{"https://shop.example"} })
	for _, tc := range []struct {
		origin string
		want   int
	}{{"https://evil.example", http.StatusForbidden}, {"https://shop.example", http.StatusSwitchingProtocols}} {
		h := http.Header{"Origin": {tc.origin}}
		c, resp, err := websocket.Dial(t.Context(), srv.url+"/ws", &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			c.CloseNow()
		}
		if resp == nil {
			t.Fatalf("%s: no response: %v", tc.origin, err)
		}
		if resp.StatusCode != tc.want {
			t.Fatalf("%s: status %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
	}
}
