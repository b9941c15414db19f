package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAnalyticsListen runs `cachet analytics run --listen` on the embedded
// broker and scrapes its /metrics and /healthz.
func TestAnalyticsListen(t *testing.T) {
	b := testBroker(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runAnalytics(ctx, []string{"run", "--brokers", b.Addr(), "--engine", "cpu", "--partitions", "1", "--interval", "100ms", "--listen", "127.0.0.1:0", "--max-keys", "1000"}, &out)
	}()
	re := regexp.MustCompile(`metrics on (http://\S+)/metrics`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics address in %q", out.String())
		}
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, _ := get("/healthz")
		_, metrics := get("/metrics")
		if code == http.StatusOK && strings.Contains(metrics, `cachet_analytics_engine{engine="cpu"} 1`) && strings.Contains(metrics, "cachet_analytics_rounds_total") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz %d, metrics:\n%s", code, metrics)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestAnalyticsMaxKeysMustBePositive(t *testing.T) {
	err := runAnalytics(context.Background(), []string{"run", "--max-keys", "0"}, io.Discard)
	if exitCode(err) != exitUsage {
		t.Fatalf("err = %v, want a usage error", err)
	}
}
