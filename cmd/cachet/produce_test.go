package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/produce"
	"github.com/cachetsync/cachet/record"
)

// TestProduceRefusesBadLines checks that a bad line stops the command with
// its line number and a typed cause, before any broker is contacted.
func TestProduceRefusesBadLines(t *testing.T) {
	cases := []struct {
		name  string
		line  string
		check func(error) bool
	}{
		{"unknown version", `{"v":9,"key":"ns:a","version":1,"state":"VALID","txId":"t"}`, func(err error) bool {
			var e *record.UnsupportedVersionError
			return errors.As(err, &e) && e.Got == 9
		}},
		{"bad key", `{"key":"ftp://x/","version":1,"state":"VALID","txId":"t"}`, func(err error) bool {
			return strings.Contains(err.Error(), "unsupported-scheme")
		}},
		{"version 0", `{"key":"ns:a","version":0,"state":"VALID","txId":"t"}`, func(err error) bool {
			var e *record.InvalidError
			return errors.As(err, &e)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setStdin(t, "\n"+c.line+"\n")
			var out strings.Builder
			err := cachet(context.Background(), []string{"produce", "--brokers", "127.0.0.1:1"}, &out)
			var pe *produce.LineError
			if !errors.As(err, &pe) || pe.Line != 2 || !c.check(err) {
				t.Fatalf("err = %v, want a produce.LineError on line 2 with the right cause", err)
			}
			if out.Len() != 0 {
				t.Fatalf("printed %q for a refused line", out.String())
			}
		})
	}
}

// setStdin makes os.Stdin read content until the test ends.
func setStdin(t *testing.T, content string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = in
	t.Cleanup(func() { os.Stdin = old; in.Close() })
}
