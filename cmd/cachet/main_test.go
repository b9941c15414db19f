package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	var out bytes.Buffer
	if err := dispatch(context.Background(), nil, &out); err != nil || !strings.Contains(out.String(), "version") {
		t.Fatalf("help: %v, %q", err, out.String())
	}
	out.Reset()
	if err := dispatch(context.Background(), []string{"version"}, &out); err != nil || !strings.HasPrefix(out.String(), "cachet ") {
		t.Fatalf("version: %v, %q", err, out.String())
	}
	err := dispatch(context.Background(), []string{"no-such"}, &out)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != exitUsage {
		t.Fatalf("unknown command: %v, want a usage error", err)
	}
}
