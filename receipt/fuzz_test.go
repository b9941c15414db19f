package receipt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes: it refuses with a decode
// CheckError or returns a receipt that encodes and decodes to itself, and
// Verify then judges it without panicking.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"publish.json", "invalidate.json", "refused.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(`{"version":1,"txIndex":0,"block":{"data":["AA=="]},"config":{"headerHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`))
	f.Add([]byte(`{"version":2}`))
	trust := trusted(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Check != CheckDecode {
				t.Fatalf("Decode error %v is not a decode CheckError", err)
			}
			return
		}
		enc, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decoding an encoded receipt: %v", err)
		}
		enc2, _ := again.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatal("encode(decode(encode(r))) differs from encode(r)")
		}
		if _, err := Verify(r, trust); err != nil && checkOf(err) == "" {
			t.Fatalf("Verify error %v names no check", err)
		}
	})
}
