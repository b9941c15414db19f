package purgeapi

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTokenStoreKeepsOnlyTheHash(t *testing.T) {
	path := t.TempDir() + "/tokens.json"
	s, err := OpenTokenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, tok, err := s.Create(TokenSpec{Scopes: "purge:tags, read"}, epoch); err == nil {
		t.Fatalf("a scope list with a space was accepted: %v", tok.Scopes)
	}
	secret, tok, err := s.Create(TokenSpec{Name: "ci", Scopes: "purge:tags,prefix:HTTPS://shop.example/assets/", Expires: 720 * time.Hour, Rate: "50/s"}, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "cachet_"+tok.ID+"_") || len(secret) < len("cachet_")+16+1+43 {
		t.Errorf("secret %q does not name its ID or is short", secret)
	}
	if !tok.ExpiresAt.Equal(epoch.Add(720*time.Hour)) || tok.Scopes[1] != "prefix:https://shop.example/assets/" {
		t.Errorf("token %+v", tok)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(secret, "cachet_"+tok.ID+"_")
	if strings.Contains(string(b), key) || !strings.Contains(string(b), hashSecret(key)) {
		t.Errorf("the file holds the secret, or not its hash:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("token file mode %v is readable by others", fi.Mode())
	}
	g, err := s.Authenticate(secret, epoch.Add(time.Hour))
	if err != nil || g.TokenID != tok.ID || g.Rate != (Rate{50, time.Second}) || len(g.Scopes) != 2 {
		t.Errorf("Authenticate: %+v, %v", g, err)
	}
}

func TestTokenRefusals(t *testing.T) {
	s, _ := OpenTokenStore(t.TempDir() + "/tokens.json")
	secret, tok, err := s.Create(TokenSpec{Scopes: "read", Expires: time.Hour}, epoch)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		secret string
		at     time.Time
		code   TokenErrorCode
	}{
		{"no prefix", strings.TrimPrefix(secret, "cachet_"), epoch, TokenMalformed},
		{"no secret", "cachet_" + tok.ID + "_", epoch, TokenMalformed},
		{"wrong secret", tamper(secret), epoch, TokenUnknown},
		{"unknown id", "cachet_0000000000000000_" + secret[len(secret)-43:], epoch, TokenUnknown},
		{"expired", secret, epoch.Add(time.Hour), TokenExpired},
	}
	for _, tc := range cases {
		var te *TokenError
		if _, err := s.Authenticate(tc.secret, tc.at); !errors.As(err, &te) || te.Code != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := s.Authenticate(secret, epoch.Add(time.Hour-time.Nanosecond)); err != nil {
		t.Errorf("a moment before expiry: %v", err)
	}
	for _, spec := range []TokenSpec{{Scopes: "purge:urls"}, {Scopes: "read", Rate: "fast"}, {Scopes: "read", Expires: -time.Hour}} {
		if _, _, err := s.Create(spec, epoch); err == nil {
			t.Errorf("Create(%+v) accepted", spec)
		}
	}
	if list, _ := s.List(); len(list) != 1 {
		t.Errorf("a refused Create stored a token: %d tokens", len(list))
	}
}

// A token created or revoked through another store on the same file (the
// CLI, while the daemon runs) takes effect in the daemon's store.
func TestTokenStoreSeesOtherWriters(t *testing.T) {
	path := t.TempDir() + "/tokens.json"
	daemon, _ := OpenTokenStore(path)
	cli, _ := OpenTokenStore(path)
	secret, tok, err := cli.Create(TokenSpec{Scopes: "read"}, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Authenticate(secret, epoch); err != nil {
		t.Fatalf("daemon does not see the new token: %v", err)
	}
	other, _, _ := cli.Create(TokenSpec{Scopes: "purge:keys"}, epoch.Add(time.Second))
	if err := cli.Revoke(tok.ID, epoch.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var te *TokenError
	if _, err := daemon.Authenticate(secret, epoch.Add(time.Hour)); !errors.As(err, &te) || te.Code != TokenRevoked {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := daemon.Authenticate(other, epoch.Add(time.Hour)); err != nil {
		t.Errorf("the other token: %v", err)
	}
	list, err := daemon.List()
	if err != nil || len(list) != 2 || list[0].ID != tok.ID || list[0].RevokedAt.IsZero() {
		t.Errorf("List: %+v, %v", list, err)
	}
	if err := daemon.Revoke("nope", epoch); !errors.As(err, &te) || te.Code != TokenUnknown {
		t.Errorf("revoking an unknown token: %v", err)
	}
}

func TestOpenTokenStoreRefusesACorruptFile(t *testing.T) {
	path := t.TempDir() + "/tokens.json"
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTokenStore(path); err == nil {
		t.Error("a corrupt store opened")
	}
}

// tamper changes a secret's last character.
func tamper(secret string) string {
	last := "x"
	if strings.HasSuffix(secret, last) {
		last = "y"
	}
	return secret[:len(secret)-1] + last
}
