package cachekey_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cachetsync/cachet/cachekey"
)

type vector struct {
	In    string `json:"in"`
	InHex string `json:"inHex"`
	Out   string `json:"out"`
	Error string `json:"error"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "cachekey", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func vectors(t testing.TB) []vector {
	var file struct{ Vectors []vector }
	loadJSON(t, "vectors.json", &file)
	for i, v := range file.Vectors {
		if v.InHex != "" {
			b, err := hex.DecodeString(v.InHex)
			if err != nil {
				t.Fatal(err)
			}
			file.Vectors[i].In = string(b)
		}
	}
	return file.Vectors
}

func TestCanonicalGoldenVectors(t *testing.T) {
	for _, v := range vectors(t) {
		got, err := cachekey.Canonical(v.In)
		if v.Error != "" {
			var ke *cachekey.Error
			if !errors.As(err, &ke) {
				t.Errorf("Canonical(%q) = %q, %v; want error %s", v.In, got, err, v.Error)
				continue
			}
			if string(ke.Reason) != v.Error {
				t.Errorf("Canonical(%q): reason %s, want %s (%v)", v.In, ke.Reason, v.Error, err)
			}
			continue
		}
		if err != nil || got != v.Out {
			t.Errorf("Canonical(%q) = %q, %v; want %q", v.In, got, err, v.Out)
		}
	}
}

func TestCanonicalIsIdempotentOnVectors(t *testing.T) {
	for _, v := range vectors(t) {
		if v.Error != "" {
			continue
		}
		again, err := cachekey.Canonical(v.Out)
		if err != nil || again != v.Out {
			t.Errorf("Canonical(%q) = %q, %v; canonical keys must map to themselves", v.Out, again, err)
		}
	}
}

func TestErrorMessageNamesTheReason(t *testing.T) {
	_, err := cachekey.Canonical("https://shop.example:99999/")
	if err == nil || !strings.Contains(err.Error(), "bad-port") || !strings.Contains(err.Error(), "shop.example") {
		t.Fatalf("error %v should name the input and the reason", err)
	}
	_, err = cachekey.Canonical(strings.Repeat("n", 5000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for a huge input must stay short, got %d bytes", len(err.Error()))
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct{ key, want string }{
		{"https://shop.example/a?b=1", "https://shop.example"},
		{"http://[::1]:8080/x", "http://[::1]:8080"},
		{"img:avatar/1", ""},
	}
	for _, tt := range tests {
		if got := cachekey.Origin(tt.key); got != tt.want {
			t.Errorf("Origin(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestTagGolden(t *testing.T) {
	var file struct{ Valid, Invalid []string }
	loadJSON(t, "tags.json", &file)
	for _, tag := range file.Valid {
		if err := cachekey.Tag(tag); err != nil {
			t.Errorf("Tag(%q) = %v, want nil", tag, err)
		}
	}
	for _, tag := range file.Invalid {
		var ke *cachekey.Error
		if err := cachekey.Tag(tag); !errors.As(err, &ke) || ke.Reason != cachekey.ReasonBadTag {
			t.Errorf("Tag(%q) = %v, want bad-tag", tag, err)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, v := range vectors(f) {
		f.Add(v.In)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		key, err := cachekey.Canonical(raw)
		if err != nil {
			var ke *cachekey.Error
			if !errors.As(err, &ke) || ke.Reason == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if key == "" || len(key) > cachekey.MaxKeyBytes || !utf8.ValidString(key) {
			t.Fatalf("Canonical(%q) = %q: empty, too long or invalid UTF-8", raw, key)
		}
		again, err := cachekey.Canonical(key)
		if err != nil || again != key {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, key, again, err)
		}
		if cachekey.IsURL(key) && strings.ContainsAny(key, "#") {
			t.Fatalf("fragment survived in %q", key)
		}
	})
}

func BenchmarkCanonical(b *testing.B) {
	const raw = "HTTPS://Shop.Example.com:443/a/./b/../c/%7euser?z=1&b=2&a=%2f#frag"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cachekey.Canonical(raw); err != nil {
			b.Fatal(err)
		}
	}
}
