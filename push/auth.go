package push

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAudience is the audience tokens must name unless configured otherwise.
const DefaultAudience = "cachet-push"

// Claims are a push token's claims.
type Claims struct {
	jwt.RegisteredClaims
	// Channels this token may subscribe to; a trailing * matches a prefix.
	Channels []string `json:"channels"`
}

// Allows reports whether the token allows channel c.
func (c *Claims) Allows(ch string) bool {
	for _, a := range c.Channels {
		if a == ch || strings.HasSuffix(a, "*") && strings.HasPrefix(ch, a[:len(a)-1]) {
			return true
		}
	}
	return false
}

// Verifier checks push tokens: signature (HS256 secret, or ES256/RS256 keys
// from a JWKS), expiry, not-before and audience.
type Verifier struct {
	secret   []byte
	keys     map[string]crypto.PublicKey // kid → key
	audience string
	issuer   string
	now      func() time.Time
}

var errAlgorithm = errors.New("algorithm refused")

// NewVerifier builds a Verifier. At least one of secret and jwks must be
// given; jwks is the JSON of a JSON Web Key Set.
func NewVerifier(secret []byte, jwks []byte, audience, issuer string) (*Verifier, error) {
	v := &Verifier{secret: secret, audience: audience, issuer: issuer, now: time.Now}
	if v.audience == "" {
		v.audience = DefaultAudience
	}
	if len(jwks) > 0 {
		keys, err := ParseJWKS(jwks)
		if err != nil {
			return nil, err
		}
		v.keys = keys
	}
	if len(v.secret) == 0 && len(v.keys) == 0 {
		return nil, &ConfigError{Field: "auth", Reason: "need a JWT secret or a JWKS"}
	}
	return v, nil
}

// NewVerifierFromFile is NewVerifier with the JWKS read from a file.
func NewVerifierFromFile(secret []byte, jwksPath, audience, issuer string) (*Verifier, error) {
	var jwks []byte
	if jwksPath != "" {
		b, err := os.ReadFile(jwksPath)
		if err != nil {
			return nil, &ConfigError{Field: "jwks", Reason: err.Error()}
		}
		jwks = b
	}
	return NewVerifier(secret, jwks, audience, issuer)
}

func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case "HS256":
		if len(v.secret) == 0 {
			return nil, errAlgorithm
		}
		return v.secret, nil
	case "ES256", "RS256":
		kid, _ := t.Header["kid"].(string)
		k, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		_, isEC := k.(*ecdsa.PublicKey)
		if isEC != (t.Method.Alg() == "ES256") {
			return nil, errAlgorithm
		}
		return k, nil
	}
	return nil, errAlgorithm
}

// Verify checks a token and returns its claims, or a *CloseError whose code
// says why it was refused.
func (v *Verifier) Verify(token string) (*Claims, error) {
	var c Claims
	opts := []jwt.ParserOption{jwt.WithAudience(v.audience), jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second), jwt.WithIssuedAt(), jwt.WithTimeFunc(v.now)}
	if v.issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.issuer))
	}
	_, err := jwt.ParseWithClaims(token, &c, v.key, opts...)
	if err == nil {
		return &c, nil
	}
	code, msg := CodeTokenInvalid, "token invalid"
	switch {
	case errors.Is(err, errAlgorithm):
		code, msg = CodeAlgorithm, "signing algorithm refused"
	case errors.Is(err, jwt.ErrTokenExpired):
		code, msg = CodeTokenExpired, "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		code, msg = CodeTokenNotYetValid, "token not yet valid"
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenInvalidIssuer):
		code, msg = CodeAudience, "token is for another audience or issuer"
	}
	return nil, &CloseError{Code: code, Message: msg, Err: err}
}

// Expiry returns the claims' expiry (Verify guarantees there is one).
func (c *Claims) Expiry() time.Time {
	if c.RegisteredClaims.ExpiresAt == nil {
		return time.Time{}
	}
	return c.RegisteredClaims.ExpiresAt.Time
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// MinRSABits is the smallest RSA modulus a JWKS may hold.
const MinRSABits = 2048

// ParseJWKS reads EC P-256 and RSA public keys (at least MinRSABits) from
// a JSON Web Key Set.
func ParseJWKS(b []byte) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, &ConfigError{Field: "jwks", Reason: "malformed JSON: " + err.Error()}
	}
	keys := make(map[string]crypto.PublicKey, len(set.Keys))
	num := func(s string) (*big.Int, error) {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) == 0 {
			return nil, fmt.Errorf("bad base64url number")
		}
		return new(big.Int).SetBytes(raw), nil
	}
	for i, k := range set.Keys {
		fail := func(why string) error {
			return &ConfigError{Field: "jwks", Reason: fmt.Sprintf("key %d (kid %q): %s", i, k.Kid, why)}
		}
		switch k.Kty {
		case "EC":
			if k.Crv != "P-256" {
				return nil, fail("curve " + k.Crv + " not supported (want P-256)")
			}
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
				return nil, fail("bad x or y")
			}
			pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil { // validates the point
				return nil, fail("point not on P-256")
			}
			keys[k.Kid] = pk
		case "RSA":
			n, err1 := num(k.N)
			e, err2 := num(k.E)
			if err1 != nil || err2 != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
				return nil, fail("bad n or e")
			}
			if n.BitLen() < MinRSABits {
				return nil, fail(fmt.Sprintf("RSA key of %d bits (at least %d)", n.BitLen(), MinRSABits))
			}
			keys[k.Kid] = &rsa.PublicKey{N: n, E: int(e.Int64())}
		default:
			return nil, fail("key type " + k.Kty + " not supported")
		}
	}
	return keys, nil
}

// ConfigError reports a server configuration that cannot work.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "push config: " + e.Field + ": " + e.Reason }
