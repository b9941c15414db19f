package push

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is how long a token from Minter lasts unless TTL says
// otherwise.
const DefaultTokenTTL = 10 * time.Minute

// Minter signs HS256 push tokens with a shared secret, as the application
// serving a page does: the development origin, `cachet watch --push`, tests
// and the load generator all mint with it. The zero values of Audience, TTL
// and Now mean DefaultAudience, DefaultTokenTTL and time.Now.
type Minter struct {
	Secret   []byte
	Audience string
	Subject  string // optional; the server logs it
	TTL      time.Duration
	Now      func() time.Time
}

// Mint returns a token allowing channels (a trailing * allows a prefix),
// issued now and expiring TTL later.
func (m Minter) Mint(channels []string) (string, error) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	aud, ttl := m.Audience, m.TTL
	if aud == "" {
		aud = DefaultAudience
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Channels: channels, RegisteredClaims: jwt.RegisteredClaims{
		Subject: m.Subject, Audience: jwt.ClaimStrings{aud}, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}}).SignedString(m.Secret)
}
