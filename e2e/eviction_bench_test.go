//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

// chromium is Debian's browser (make chromium installs it).
const chromium = "/usr/bin/chromium"

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// invalidation is one submitted invalidation and its trace.
type invalidation struct {
	key               string
	trace             string
	submit, committed time.Time
}

// BenchmarkSubmitToEviction measures what a user sees: an invalidation
// submitted through the gateway until the browser's Service Worker cache
// eviction finished, with the whole chain real (network, relay, embedded
// broker, push, the demo page in headless Chromium). Invalidations go at a
// steady rate; every figure comes from the one trace each invalidation
// makes (the browser's eviction span arrives through the push server's OTLP
// export), and the ledger's own submit→commit is measured in the same run.
func BenchmarkSubmitToEviction(b *testing.B) {
	if _, err := os.Stat(chromium); err != nil {
		b.Fatalf("%s missing (make chromium installs it): %v", chromium, err)
	}
	// 4 a second: under the SDK's eviction-span budget (5 a second after a
	// burst), so every invalidation's trace reaches the browser's span.
	n, rate := 1000, 4.0
	if v := os.Getenv("CACHET_E2E_EVICTIONS"); v != "" {
		fmt.Sscan(v, &n)
	}
	// CACHET_E2E_DC_DELAY: on a network of its own in emulated data
	// centers that far apart (one way); make bench-multidc sets it.
	if v := os.Getenv("CACHET_E2E_DC_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("CACHET_E2E_DC_DELAY=%q: %v", v, err)
		}
		dcNetwork(b, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tr := startTracing(b)
	tp, mem, recv := tr.tp, tr.mem, tr.recv

	originAddr, pushAddr := freeAddr(b), freeAddr(b)
	origin := "http://" + originAddr
	pub, inv := client(b, "org1", "publisher"), client(b, "org1", "invalidator")
	keys := make([]string, n)
	var mu sync.Mutex
	var from uint64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/items/%d", origin, i+1)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, c, err := pub.Publish(ctx, gateway.PublishRequest{Key: keys[i], MaxAge: 300, Tags: []string{"bench"}})
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			from = max(from, c.Block+1)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	stack := startDevStack(b, from, tr.otlp, "--push-listen", pushAddr, "--origin-listen", originAddr,
		"--origin-push-url", "ws://"+pushAddr+"/ws", "--push-allowed-origins", origin,
		"--origin-sdk-dir", filepath.Join(root, "sdk", "dist"))

	browser := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+b.TempDir(), "--remote-debugging-port=0", origin+"/")
	browserLog, _ := os.Create(filepath.Join(b.TempDir(), "chromium.log"))
	browser.Stdout, browser.Stderr = browserLog, browserLog
	defer func() {
		if b.Failed() {
			out, _ := os.ReadFile(browserLog.Name())
			b.Logf("chromium output:\n%s", tail(string(out), 3000))
		}
	}()
	if err := browser.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { browser.Process.Kill(); browser.Wait() }()
	metrics := "http://" + stack.push + "/metrics"
	for deadline := time.Now().Add(time.Minute); metric(httpGet(b, metrics), "cachet_push_connections") < 1; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the demo page never connected to the push server")
		}
	}
	time.Sleep(2 * time.Second) // the page's Service Worker takes control after the socket opens

	b.ResetTimer()
	sent := make([]invalidation, n)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	for i, key := range keys {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, span := tp.Tracer("bench").Start(ctx, "operator invalidates")
			start := time.Now()
			_, _, err := inv.Invalidate(sctx, key, "bench", 0)
			sent[i] = invalidation{key: key, trace: span.SpanContext().TraceID().String(), submit: start, committed: time.Now()}
			span.End()
			if err != nil {
				b.Error(err)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	if b.Failed() {
		return
	}
	evicted := func(trace string) bool {
		return slices.ContainsFunc(recv.Trace(trace), func(s telemetrytest.Span) bool { return s.Name == "cachet.sdk.evict" })
	}
	for deadline := time.Now().Add(time.Minute); !evicted(sent[n-1].trace) && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(6 * time.Second) // the push server's exporter batches spans for up to 5 s
	b.StopTimer()

	// Hops in time order; they add up to submit→eviction exactly.
	hops := []string{"endorse", "order+commit", "relay", "kafka→push", "push", "push→browser", "browser evict"}
	shares := make(map[string][]time.Duration)
	var e2e, commit []time.Duration
	missing := 0
	endorsed := map[string]time.Time{} // trace ID → end of its endorsement
	for _, g := range mem.GetSpans() {
		if g.Name == "fabric.endorse" {
			endorsed[g.SpanContext.TraceID().String()] = g.EndTime
		}
	}
	for _, s := range sent {
		by := map[string]telemetrytest.Span{}
		for _, sp := range recv.Trace(s.trace) {
			by[sp.Name] = sp
		}
		ev, relay, push := by["cachet.sdk.evict"], by["relay.transition"], by["push.fanout"]
		if ev.Name == "" || relay.Name == "" || push.Name == "" {
			if missing++; missing <= 3 {
				b.Logf("%s: incomplete trace %s: sdk %q relay %q push %q", s.key, s.trace, ev.Name, relay.Name, push.Name)
			}
			continue
		}
		e2e = append(e2e, ev.End.Sub(s.submit))
		commit = append(commit, s.committed.Sub(s.submit))
		end, ok := endorsed[s.trace]
		if !ok {
			end = s.submit
		}
		shares["endorse"] = append(shares["endorse"], end.Sub(s.submit))
		shares["order+commit"] = append(shares["order+commit"], relay.Start.Sub(end)) // until the relay has the block
		shares["relay"] = append(shares["relay"], relay.Duration())
		shares["kafka→push"] = append(shares["kafka→push"], push.Start.Sub(relay.End))
		shares["push"] = append(shares["push"], push.Duration())
		shares["push→browser"] = append(shares["push→browser"], ev.Start.Sub(push.End))
		shares["browser evict"] = append(shares["browser evict"], ev.Duration())
	}
	body := httpGet(b, metrics)
	for _, m := range []string{"cachet_push_spans_exported_total", "cachet_push_spans_dropped_total", "cachet_push_refused_total", "cachet_push_drops_total", "cachet_push_deliveries_total", "cachet_push_connections"} {
		b.Logf("%s %v", m, metric(body, m))
	}
	if len(e2e) < n*99/100 {
		b.Fatalf("only %d of %d invalidations have a complete trace (submit, relay, push, browser eviction)", len(e2e), n)
	}
	pct := func(d []time.Duration, p float64) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	mean := func(d []time.Duration) float64 {
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return float64(sum.Microseconds()) / 1000 / float64(len(d))
	}
	var total float64
	for _, h := range hops {
		total += mean(shares[h])
	}
	fmt.Printf("\nsubmit → browser eviction, %d invalidations at %.0f/s (%d without a complete trace)\n", n, rate, missing)
	fmt.Printf("%-16s %9s %9s %9s %7s\n", "hop", "mean ms", "p50 ms", "p99 ms", "share")
	for _, h := range hops {
		fmt.Printf("%-16s %9.2f %9.2f %9.2f %6.1f%%\n", h, mean(shares[h]), pct(shares[h], 0.5), pct(shares[h], 0.99), 100*mean(shares[h])/total)
	}
	fmt.Printf("%-16s %9.2f %9.2f %9.2f\n", "submit→commit", mean(commit), pct(commit, 0.5), pct(commit, 0.99))
	fmt.Printf("%-16s %9.2f %9.2f %9.2f\n", "submit→eviction", mean(e2e), pct(e2e, 0.5), pct(e2e, 0.99))
	fmt.Printf("e2e_p50_ms: %.1f\ne2e_p99_ms: %.1f\ncommit_p50_ms: %.1f\ne2e_vs_commit_p50_ratio: %.2f\n",
		pct(e2e, 0.5), pct(e2e, 0.99), pct(commit, 0.5), pct(e2e, 0.5)/pct(commit, 0.5))
	b.ReportMetric(pct(e2e, 0.5), "e2e-p50-ms")
}
