package push_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cachetsync/cachet/push"
)

// TestMinterTokensVerify: a minted token passes a Verifier with the same
// secret and audience, allows its channels and expires TTL after Now; a
// mismatched audience or secret is refused with its close code.
func TestMinterTokensVerify(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name     string
		m        push.Minter
		audience string // the verifier's
		secret   []byte // the verifier's
		code     push.CloseCode
		ttl      time.Duration
	}{
		{"defaults", push.Minter{Secret: secret, Now: func() time.Time { return now }}, "", secret, 0, push.DefaultTokenTTL},
		{"ttl and audience", push.Minter{Secret: secret, Audience: "shop-push", TTL: time.Minute, Now: func() time.Time { return now }}, "shop-push", secret, 0, time.Minute},
		{"wrong audience", push.Minter{Secret: secret, Audience: "other"}, "", secret, push.CodeAudience, 0},
		{"wrong secret", push.Minter{Secret: []byte("another-secret-0123456789")}, "", secret, push.CodeTokenInvalid, 0},
		{"expired", push.Minter{Secret: secret, TTL: time.Minute, Now: func() time.Time { return now.Add(-time.Hour) }}, "", secret, push.CodeTokenExpired, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := push.NewVerifier(tc.secret, nil, tc.audience, "")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tc.m.Mint([]string{shopCh, "tag:*"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(tok)
			if tc.code != 0 {
				var ce *push.CloseError
				if !errors.As(err, &ce) || ce.Code != tc.code {
					t.Fatalf("Verify: %v, want close code %d", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Channels, []string{shopCh, "tag:*"}) || !c.Allows("tag:catalog") {
				t.Errorf("channels %v", c.Channels)
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != tc.ttl || !c.IssuedAt.Equal(now) {
				t.Errorf("issued %v, lasts %v; want %v, %v", c.IssuedAt, got, now, tc.ttl)
			}
		})
	}
}
