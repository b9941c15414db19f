package push_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
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

// rsaJWKS writes a JWKS file holding pub under kid and an EC key under
// "ec1", and returns its path.
func rsaJWKS(t *testing.T, kid string, pub *rsa.PublicKey) string {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecb, _ := ec.PublicKey.Bytes()
	enc := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": kid, "n": enc(pub.N.Bytes()), "e": enc(big.NewInt(int64(pub.E)).Bytes())},
		{"kty": "EC", "crv": "P-256", "kid": "ec1", "x": enc(ecb[1:33]), "y": enc(ecb[33:])}}})
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func rs256(t *testing.T, key *rsa.PrivateKey, kid string, exp time.Duration) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, &push.Claims{Channels: []string{shopCh}, RegisteredClaims: jwt.RegisteredClaims{
		Audience: jwt.ClaimStrings{push.DefaultAudience}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(exp))}})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRS256FromJWKSFile: a server whose keys come from a JWKS file accepts
// RS256 tokens signed with a published key, refuses unknown key ids, other
// keys and an RSA token naming an EC key, and refreshes a live connection
// with a new RS256 token.
func TestRS256FromJWKSFile(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	v, err := push.NewVerifierFromFile(nil, rsaJWKS(t, "rsa1", &key.PublicKey), "", "")
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.Verifier = v })
	for _, tc := range []struct {
		name  string
		token string
		code  push.CloseCode
	}{
		{"unknown kid", rs256(t, key, "rsa2", time.Hour), push.CodeTokenInvalid},
		{"no kid", rs256(t, key, "", time.Hour), push.CodeTokenInvalid},
		{"another key", rs256(t, other, "rsa1", time.Hour), push.CodeTokenInvalid},
		{"RS256 naming an EC key", rs256(t, key, "ec1", time.Hour), push.CodeAlgorithm},
		{"HS256 without a secret", token(t, []string{shopCh}, nil), push.CodeAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, srv.url, hello(tc.token, "", shopCh))
			if got := c.closeCode(); got != websocket.StatusCode(tc.code) {
				t.Fatalf("close code %d, want %d (%s)", got, tc.code, tc.code)
			}
		})
	}

	c := dialWS(t, srv.url, hello(rs256(t, key, "rsa1", 2*time.Second), "", shopCh))
	if w := c.next(); w.T != "welcome" {
		t.Fatalf("got %+v, want welcome", w)
	}
	c.sendJSON(map[string]any{"t": "refresh", "token": rs256(t, key, "rsa1", time.Hour)})
	if m := c.next(); m.T != "refreshed" {
		t.Fatalf("got %+v, want refreshed", m)
	}
	time.Sleep(3 * time.Second) // past the first token's expiry: still connected
	tr := newProducer(t, b).send("https://shop.example/after-rs256-refresh")
	if m := c.next(); m.Key != tr.Key {
		t.Fatalf("got %+v, want %s", m, tr.Key)
	}
	c.sendJSON(map[string]any{"t": "refresh", "token": rs256(t, other, "rsa1", time.Hour)})
	if got := c.closeCode(); got != websocket.StatusCode(push.CodeTokenInvalid) {
		t.Fatalf("refresh signed by another key: close %d, want %d", got, push.CodeTokenInvalid)
	}
}

// TestJWKSRefusesWeakRSA: a JWKS with an RSA key under 2048 bits, or a bad
// exponent, is a configuration error, not a key tokens could be forged for.
func TestJWKSRefusesWeakRSA(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	big2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	even := big2048.PublicKey
	even.E = 65536
	for _, tc := range []struct {
		name string
		pub  *rsa.PublicKey
	}{{"1024 bits", &small.PublicKey}, {"even exponent", &even}} {
		_, err := push.NewVerifierFromFile(nil, rsaJWKS(t, "k", tc.pub), "", "")
		var ce *push.ConfigError
		if !errorsAs(err, &ce) {
			t.Errorf("%s: err = %v, want a *push.ConfigError", tc.name, err)
		}
	}
}
