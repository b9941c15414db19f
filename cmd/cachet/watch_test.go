package main

import (
	"strings"
	"testing"
)

func TestWatchSourcesAreExclusive(t *testing.T) {
	_, errOut, code := runCachet(t, "watch", "--kafka", "--push")
	if code != exitUsage || !strings.Contains(errOut, "kafka") {
		t.Fatalf("watch --kafka --push: exit %d, %q; want a usage error", code, errOut)
	}
}
