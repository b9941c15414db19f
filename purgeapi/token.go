package purgeapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// tokenPrefix starts every secret, so a leaked one is recognizable.
const tokenPrefix = "cachet_"

// Token is a stored API token: everything but its secret, of which only
// the SHA-256 is kept.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Scopes    []string  `json:"scopes"`
	Rate      string    `json:"rate,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"` // zero: never
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	Hash      string    `json:"sha256"` // hex SHA-256 of the secret
}

// TokenSpec is what CreateToken needs; the `cachet api token create` flags.
type TokenSpec struct {
	Name    string
	Scopes  string        // ParseScopes grammar, e.g. "purge:tags,prefix:https://shop.example/assets/"
	Expires time.Duration // from now; 0: never
	Rate    string        // ParseRate grammar, e.g. "50/s"; "": the server's default
}

// TokenErrorCode names why a token was refused.
type TokenErrorCode string

// Token refusals.
const (
	TokenMalformed TokenErrorCode = "malformed"
	TokenUnknown   TokenErrorCode = "unknown"
	TokenExpired   TokenErrorCode = "expired"
	TokenRevoked   TokenErrorCode = "revoked"
)

// TokenError reports a token that cannot be used or found.
type TokenError struct {
	Code TokenErrorCode
	ID   string // when known
}

func (e *TokenError) Error() string {
	if e.ID == "" {
		return "token " + string(e.Code)
	}
	return fmt.Sprintf("token %s %s", e.ID, e.Code)
}

// TokenStore keeps API tokens in a JSON file, hashed. Authenticate reloads
// the file when it changed, so tokens created or revoked by another process
// (the CLI) take effect without a restart. Writers in different processes
// must not run at once.
type TokenStore struct {
	path string
	mu   sync.Mutex
	byID map[string]Token
	mod  time.Time
	size int64
}

type tokenFile struct {
	Tokens []Token `json:"tokens"`
}

// OpenTokenStore opens path, creating nothing until the first token; a
// missing file is an empty store.
func OpenTokenStore(path string) (*TokenStore, error) {
	s := &TokenStore{path: path}
	if err := s.reload(true); err != nil {
		return nil, err
	}
	return s, nil
}

// reload rereads the file if forced or if its size or mtime changed. s.mu is held or s is new.
func (s *TokenStore) reload(force bool) error {
	fi, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.byID, s.mod, s.size = map[string]Token{}, time.Time{}, 0
		return nil
	}
	if err != nil {
		return err
	}
	if !force && fi.ModTime().Equal(s.mod) && fi.Size() == s.size {
		return nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("token store %s: %w", s.path, err)
	}
	byID := make(map[string]Token, len(f.Tokens))
	for _, t := range f.Tokens {
		byID[t.ID] = t
	}
	s.byID, s.mod, s.size = byID, fi.ModTime(), fi.Size()
	return nil
}

func (s *TokenStore) save() error {
	f := tokenFile{Tokens: s.listLocked()}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".tokens-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	return s.reload(true)
}

// Create validates spec, stores a new token and returns its secret, which
// is shown this once: the store keeps only its hash.
func (s *TokenStore) Create(spec TokenSpec, now time.Time) (secret string, t Token, err error) {
	scopes, err := ParseScopes(spec.Scopes)
	if err != nil {
		return "", Token{}, err
	}
	if spec.Rate != "" {
		if _, err := ParseRate(spec.Rate); err != nil {
			return "", Token{}, err
		}
	}
	if spec.Expires < 0 {
		return "", Token{}, fmt.Errorf("token expiry %s is negative", spec.Expires)
	}
	id := make([]byte, 8)
	key := make([]byte, 32)
	rand.Read(id)
	rand.Read(key)
	t = Token{ID: hex.EncodeToString(id), Name: spec.Name, Rate: spec.Rate, CreatedAt: now.UTC()}
	for _, sc := range scopes {
		t.Scopes = append(t.Scopes, sc.String())
	}
	if spec.Expires > 0 {
		t.ExpiresAt = now.Add(spec.Expires).UTC()
	}
	secretPart := base64.RawURLEncoding.EncodeToString(key)
	t.Hash = hashSecret(secretPart)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(false); err != nil {
		return "", Token{}, err
	}
	s.byID[t.ID] = t
	if err := s.save(); err != nil {
		delete(s.byID, t.ID)
		return "", Token{}, err
	}
	return tokenPrefix + t.ID + "_" + secretPart, t, nil
}

// Revoke marks a token revoked; it is kept, so List still shows it.
func (s *TokenStore) Revoke(id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(false); err != nil {
		return err
	}
	t, ok := s.byID[id]
	if !ok {
		return &TokenError{Code: TokenUnknown, ID: id}
	}
	if !t.RevokedAt.IsZero() {
		return nil
	}
	t.RevokedAt = now.UTC()
	s.byID[id] = t
	return s.save()
}

// List returns every token, revoked and expired ones too, by creation time.
func (s *TokenStore) List() ([]Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(false); err != nil {
		return nil, err
	}
	return s.listLocked(), nil
}

func (s *TokenStore) listLocked() []Token {
	out := make([]Token, 0, len(s.byID))
	for _, t := range s.byID {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Grant is an authenticated token's parsed scopes and rate.
type Grant struct {
	TokenID string
	Scopes  Scopes
	Rate    Rate
}

// Authenticate checks a presented secret and returns the token's grant.
func (s *TokenStore) Authenticate(secret string, now time.Time) (Grant, error) {
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	id, key, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || id == "" || key == "" {
		return Grant{}, &TokenError{Code: TokenMalformed}
	}
	s.mu.Lock()
	err := s.reload(false)
	t, found := s.byID[id]
	s.mu.Unlock()
	if err != nil {
		return Grant{}, err
	}
	// Compare against a hash even for an unknown ID, so timing tells nothing.
	want := t.Hash
	if !found {
		want = hashSecret("")
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(key)), []byte(want)) != 1 || !found {
		return Grant{}, &TokenError{Code: TokenUnknown}
	}
	switch {
	case !t.RevokedAt.IsZero():
		return Grant{}, &TokenError{Code: TokenRevoked, ID: id}
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return Grant{}, &TokenError{Code: TokenExpired, ID: id}
	}
	g := Grant{TokenID: id}
	for _, sc := range t.Scopes {
		p, err := ParseScope(sc)
		if err != nil {
			return Grant{}, fmt.Errorf("token %s in store: %w", id, err)
		}
		g.Scopes = append(g.Scopes, p)
	}
	if t.Rate != "" {
		if g.Rate, err = ParseRate(t.Rate); err != nil {
			return Grant{}, fmt.Errorf("token %s in store: %w", id, err)
		}
	}
	return g, nil
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
