//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/telemetry"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

// Scope purge benchmark sizes: keys under one tag and one prefix, keys
// per batch size for the arbitrary-key path, purge rounds for the API
// against the gateway.
const (
	scopeKeys   = 5_000
	pageKeys    = 300
	batchPerRun = 2_000
	purgeRounds = 20
)

// BenchmarkScopePurge measures, in one run on the local network, what a
// scope purge is worth: one PurgeScope transaction covering scopeKeys
// entries (a tag, then a prefix) in keys covered per second of commit time
// against single invalidations by 32 callers; InvalidateBatch of 50, 100,
// 200 and 500 keys (8 in flight) against the same single figure; the HTTP
// purge API's submit→commit latency against the gateway's; and, with the
// whole chain running (relay, embedded broker, push, the demo page in
// headless Chromium holding pageKeys of the tagged entries), submit →
// eviction of those entries for tag purges through the gateway and through
// the API, alternating, from each purge's trace. Run with -benchtime=1x.
func BenchmarkScopePurge(b *testing.B) {
	ctx := context.Background()
	admin, pub, inv := client(b, "org1", "admin"), client(b, "org1", "publisher"), client(b, "org1", "invalidator")
	for i := range b.N {
		run := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
		// The covered entries are the demo origin's items, so a browser can
		// hold some of them; the others are on a host of their own.
		originAddr, pushAddr := freeAddr(b), freeAddr(b)
		origin := "http://" + originAddr
		host := "purge-" + run + ".bench.example"
		for _, h := range []string{host, "127.0.0.1"} {
			if _, _, err := admin.ClaimHost(ctx, h); err != nil {
				b.Fatal(err)
			}
		}
		// The demo origin tags every item "catalog" (Cache-Tag), as the
		// ledger entries are tagged here: the page's copies know their tag.
		tag, prefix := "catalog", origin+"/items/"
		publish := func(keys []string, tags ...string) {
			parallel(b, keys, 64, func(k string) error {
				_, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: k, MaxAge: 300, Tags: tags})
				return err
			})
		}
		keys := func(name string, n int) []string {
			out := make([]string, n)
			for j := range out {
				out[j] = fmt.Sprintf("https://%s/%s/%d", host, name, j)
			}
			return out
		}
		covered, single := make([]string, scopeKeys), keys("single", 320)
		for j := range covered {
			covered[j] = fmt.Sprintf("%s/items/%d", origin, j+1)
		}
		sizes := []int{50, 100, 200, 500}
		batches := map[int][]string{}
		start := time.Now()
		publish(covered, tag)
		publish(single)
		for _, n := range sizes {
			batches[n] = keys(fmt.Sprint("batch", n), batchPerRun)
			publish(batches[n])
		}
		if b.Failed() {
			b.FailNow()
		}
		b.Logf("published %d keys in %s", len(covered)+len(single)+len(sizes)*batchPerRun, time.Since(start).Round(time.Second))

		b.ResetTimer()
		rate := func(n int, f func()) float64 {
			start := time.Now()
			f()
			return float64(n) / time.Since(start).Seconds()
		}
		singleRate := rate(len(single), func() {
			parallel(b, single, 32, func(k string) error { _, _, err := inv.Invalidate(ctx, k, "bench", 0); return err })
		})
		purgeRate := func(s ledger.Scope) float64 {
			return rate(len(covered), func() {
				if _, _, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: s, Reason: "bench"}); err != nil {
					b.Fatal(err)
				}
			})
		}
		tagRate := purgeRate(ledger.Scope{Kind: ledger.ScopeTag, Value: tag})
		prefixRate := purgeRate(ledger.Scope{Kind: ledger.ScopePrefix, Value: prefix})
		for _, k := range []string{covered[0], covered[len(covered)-1]} {
			if e, err := pub.Get(ctx, k); err != nil || e.Effective == nil || e.Effective.State != "INVALIDATED" {
				b.Fatalf("%s after the purges: %+v %v", k, e, err)
			}
		}
		batchRates := map[int]float64{}
		for _, n := range sizes {
			batchRates[n] = rate(batchPerRun, func() {
				parallel(b, slices.Collect(slices.Chunk(batches[n], n)), 8, func(keys []string) error {
					r, _, err := inv.InvalidateBatch(ctx, keys, "bench")
					if err == nil && len(r.Invalidated) != len(keys) {
						err = fmt.Errorf("batch invalidated %d of %d keys", len(r.Invalidated), len(keys))
					}
					return err
				})
			})
		}
		tr := startTracing(b)
		api := startAPI(b)
		apiP50, gwP50 := apiVersusGateway(b, pub, api, host)
		height, err := pub.Height(ctx)
		if err != nil {
			b.Fatal(err)
		}
		startDevStack(b, height, tr.otlp, "--push-listen", pushAddr, "--origin-listen", originAddr,
			"--origin-push-url", "ws://"+pushAddr+"/ws", "--push-allowed-origins", origin,
			"--origin-sdk-dir", filepath.Join(root, "sdk", "dist"))
		viaGateway, viaAPI, applying := pagePurges(b, tr, pub, api, origin, tag)
		b.StopTimer()

		fmt.Printf("single_invalidation_keys_per_second: %.0f (Invalidate by 32 callers)\n", singleRate)
		fmt.Printf("scope_purge_keys_per_second_vs_single: %.0f (tag purge covering %d keys: %.0f keys/s)\n", tagRate/singleRate, len(covered), tagRate)
		fmt.Printf("prefix_purge_keys_per_second_vs_single: %.0f (%.0f keys/s)\n", prefixRate/singleRate, prefixRate)
		best := sizes[0]
		for _, n := range sizes {
			fmt.Printf("batch%d_keys_per_second: %.0f (%.1f× single)\n", n, batchRates[n], batchRates[n]/singleRate)
			if batchRates[n] > batchRates[best] {
				best = n
			}
		}
		fmt.Printf("batch_vs_single_keys_ratio: %.1f (best batch size %d, 8 in flight)\n", batchRates[best]/singleRate, best)
		fmt.Printf("api_vs_gateway_commit_p50_ratio: %.2f (submit→commit p50: API %.1f ms, gateway %.1f ms, %d rounds each)\n",
			apiP50/gwP50, apiP50, gwP50, purgeRounds)
		g50, g99, a50, a99 := pct(viaGateway, 0.5), pct(viaGateway, 0.99), pct(viaAPI, 0.5), pct(viaAPI, 0.99)
		fmt.Printf("page_purge_eviction_p50_ms: %.1f (tag purge through the gateway → %d cached entries evicted in Chromium, %d rounds)\n", g50, pageKeys, len(viaGateway))
		fmt.Printf("page_purge_eviction_p99_ms: %.1f\n", g99)
		fmt.Printf("api_purge_eviction_p50_ms: %.1f (the same through the HTTP purge API; p99 %.1f ms)\n", a50, a99)
		fmt.Printf("api_vs_gateway_p50_ratio: %.2f (submit → page eviction)\n", a50/g50)
		fmt.Printf("page_purge_apply_share_of_eviction_p50: %.2f (the Service Worker's cachet.sdk.purge span, p50 %.1f ms for %d copies, of the gateway path's submit → eviction)\n",
			pct(applying, 0.5)/g50, pct(applying, 0.5), pageKeys)
	}
}

// purgeAPI is a running `cachet api` daemon as org1's publisher and a
// token that may purge tags.
type purgeAPI struct{ addr, token string }

// startAPI runs the purge API daemon until the benchmark ends.
func startAPI(b *testing.B) purgeAPI {
	bin := cachetBinary(b)
	dir := b.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	out, err := exec.Command(bin, "api", "token", "create", "--tokens", tokens, "--scope", "purge:tags", "--rate", "1000/s", "--json").Output()
	var tok struct{ Token string }
	if err != nil || json.Unmarshal(out, &tok) != nil {
		b.Fatalf("token create: %v %s", err, out)
	}
	prof, err := network("profile", "org1", "publisher")
	if err != nil {
		b.Fatalf("profile: %v %s", err, prof)
	}
	profPath := filepath.Join(dir, "publisher.json")
	if err := os.WriteFile(profPath, []byte(prof), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	daemon := exec.Command(bin, "api", "--config", profPath, "--tokens", tokens, "--listen", addr)
	var logs bytes.Buffer
	daemon.Stdout, daemon.Stderr = &logs, &logs
	if err := daemon.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { daemon.Process.Signal(os.Interrupt); daemon.Wait() })
	for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(logs.Bytes(), []byte("purge API on")); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("cachet api did not start:\n%s", logs.String())
		}
	}
	return purgeAPI{addr: addr, token: tok.Token}
}

// purgeTag purges tag through the API, with ctx's trace as the request's
// traceparent.
func (a purgeAPI) purgeTag(b *testing.B, ctx context.Context, tag string) {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+a.addr+"/v1/purge", strings.NewReader(`{"tags":["`+tag+`"]}`))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	if tp := telemetry.Traceparent(ctx); tp != "" {
		req.Header.Set("traceparent", tp)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("API purge of %s: %d %s", tag, resp.StatusCode, body)
	}
}

// apiVersusGateway purges a tag purgeRounds times through the HTTP purge
// API and as often through the gateway package, alternating, and returns
// each path's submit→commit p50 in milliseconds.
func apiVersusGateway(b *testing.B, pub *gateway.Client, api purgeAPI, host string) (apiP50, gwP50 float64) {
	ctx := context.Background()
	var viaAPI, viaGateway []time.Duration
	for r := range purgeRounds {
		tag := fmt.Sprintf("%s-round-%d", host, r)
		start := time.Now()
		api.purgeTag(b, ctx, tag+"-api")
		viaAPI = append(viaAPI, time.Since(start))
		start = time.Now()
		if _, _, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: ledger.Scope{Kind: ledger.ScopeTag, Value: tag + "-gw"}}); err != nil {
			b.Fatal(err)
		}
		viaGateway = append(viaGateway, time.Since(start))
	}
	return pct(viaAPI, 0.5), pct(viaGateway, 0.5)
}

// pct is the p-quantile of d in milliseconds.
func pct(d []time.Duration, p float64) float64 {
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
}

// pagePurges opens the demo page in headless Chromium and, purgeRounds
// times, alternating the gateway and the API: has the page fetch (and its Service Worker
// cache) pageKeys items, purges tag through the gateway or the API inside
// a span, and waits until the page holds none of them. Each purge's
// latency is from its submit to the end of the page's cachet.sdk.purge
// span in the same trace (the browser's span reaches this process through
// the push server's OTLP export); applying holds those spans' durations,
// the worker's own time.
func pagePurges(b *testing.B, tr tracing, pub *gateway.Client, api purgeAPI, origin, tag string) (viaGateway, viaAPI, applying []time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	pg := openPage(b, ctx, origin+"/")
	var controlled bool
	for deadline := time.Now().Add(time.Minute); !controlled; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the demo page's Service Worker never took control")
		}
		pg.eval(ctx, `navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller !== null)`, &controlled)
	}
	time.Sleep(2 * time.Second) // the push connection opens once the worker controls the page
	const held = `(async () => { let n = 0; for (const name of await caches.keys())
		n += (await (await caches.open(name)).keys()).filter((r) => r.url.includes("/items/")).length; return n; })()`
	fill := fmt.Sprintf(`Promise.all(Array.from({ length: %d }, (_, i) => fetch("/items/" + (i + 1)).then((r) => r.arrayBuffer()))).then(() => %s)`, pageKeys, held)
	type round struct {
		trace string
		start time.Time
		api   bool
	}
	var rounds []round
	for r := range purgeRounds {
		var n int
		if err := pg.eval(ctx, fill, &n); err != nil {
			b.Fatal(err)
		}
		// The worker answers the page first and stores the copy after.
		for deadline := time.Now().Add(time.Minute); n < pageKeys; time.Sleep(50 * time.Millisecond) {
			if err := pg.eval(ctx, held, &n); err != nil || time.Now().After(deadline) {
				b.Fatalf("round %d: the page holds %d of %d items (%v)", r, n, pageKeys, err)
			}
		}
		sctx, span := tr.tp.Tracer("bench").Start(ctx, "operator purges a tag")
		rd := round{trace: span.SpanContext().TraceID().String(), start: time.Now(), api: r%2 == 1}
		if rd.api {
			api.purgeTag(b, sctx, tag)
		} else if _, _, err := pub.PurgeScope(sctx, gateway.PurgeRequest{Scope: ledger.Scope{Kind: ledger.ScopeTag, Value: tag}}); err != nil {
			b.Fatal(err)
		}
		span.End()
		rounds = append(rounds, rd)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if err := pg.eval(ctx, held, &n); err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("round %d: %d items still cached 30 s after the purge", r, n)
			}
		}
	}
	time.Sleep(6 * time.Second) // the push server's exporter batches spans for up to 5 s
	missing := 0
	for _, rd := range rounds {
		i := slices.IndexFunc(tr.recv.Trace(rd.trace), func(s telemetrytest.Span) bool { return s.Name == "cachet.sdk.purge" })
		if i < 0 {
			missing++
			continue
		}
		sp := tr.recv.Trace(rd.trace)[i]
		applying = append(applying, sp.Duration())
		d := sp.End.Sub(rd.start)
		if rd.api {
			viaAPI = append(viaAPI, d)
		} else {
			viaGateway = append(viaGateway, d)
		}
	}
	if len(viaAPI) == 0 || len(viaGateway) == 0 || missing > len(rounds)/10 {
		b.Fatalf("%d of %d purges have no browser span", missing, len(rounds))
	}
	return viaGateway, viaAPI, applying
}
