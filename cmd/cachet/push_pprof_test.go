package main

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"
)

// TestPushPprof: --pprof serves Go's profiles on its own address until
// the server stops.
func TestPushPprof(t *testing.T) {
	var out bytes.Buffer
	stop, err := servePprof("127.0.0.1:0", &out)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`profiles on (http://\S+/debug/pprof/)`).FindStringSubmatch(out.String())
	if m == nil {
		stop()
		t.Fatalf("no address in %q", out.String())
	}
	resp, err := http.Get(m[1] + "goroutine?debug=1")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("goroutine profile: status %d", resp.StatusCode)
	}
	stop()
	if _, err := http.Get(m[1]); err == nil {
		t.Error("profiles still served after stop")
	}
}
