//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// Scope purge benchmark sizes: keys under one tag and one prefix, keys
// per batch size for the arbitrary-key path, purge rounds for the API
// against the gateway.
const (
	scopeKeys   = 20_000
	batchPerRun = 4_000
	purgeRounds = 20
)

// BenchmarkScopePurge measures, in one run on the local network, what a
// scope purge is worth: one PurgeScope transaction covering scopeKeys
// entries (a tag, then a prefix) in keys covered per second of commit time
// against single invalidations by 32 callers; InvalidateBatch of 50, 100,
// 200 and 500 keys (8 in flight) against the same single figure; and the
// HTTP purge API's submit→commit latency against the gateway's, over
// alternating rounds. Run with -benchtime=1x.
func BenchmarkScopePurge(b *testing.B) {
	ctx := context.Background()
	admin, pub, inv := client(b, "org1", "admin"), client(b, "org1", "publisher"), client(b, "org1", "invalidator")
	for i := range b.N {
		run := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
		host := "purge-" + run + ".bench.example"
		if _, _, err := admin.ClaimHost(ctx, host); err != nil {
			b.Fatal(err)
		}
		tag, prefix := "bench-"+run, "https://"+host+"/p/"
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
		covered, single := keys("p", scopeKeys), keys("single", 320)
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
		apiP50, gwP50 := apiVersusGateway(b, pub, host)
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
		fmt.Printf("api_vs_gateway_p50_ratio: %.2f (submit→commit p50: API %.1f ms, gateway %.1f ms, %d rounds each)\n",
			apiP50/gwP50, apiP50, gwP50, purgeRounds)
	}
}

// apiVersusGateway purges a tag purgeRounds times through the HTTP purge
// API (a `cachet api` daemon as org1's publisher) and as often through the
// gateway package, alternating, and returns each path's submit→commit
// p50 in milliseconds.
func apiVersusGateway(b *testing.B, pub *gateway.Client, host string) (apiP50, gwP50 float64) {
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
	defer func() { daemon.Process.Signal(os.Interrupt); daemon.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(logs.Bytes(), []byte("purge API on")); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("cachet api did not start:\n%s", logs.String())
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var viaAPI, viaGateway []float64
	for r := range purgeRounds {
		tag := fmt.Sprintf("%s-round-%d", host, r)
		start := time.Now()
		if code, body := apiDo(b, "POST", "http://"+addr+"/v1/purge", tok.Token, `{"tags":["`+tag+`-api"]}`); code != 200 {
			b.Fatalf("API purge: %d %s", code, body)
		}
		viaAPI = append(viaAPI, ms(time.Since(start)))
		start = time.Now()
		if _, _, err := pub.PurgeScope(context.Background(), gateway.PurgeRequest{Scope: ledger.Scope{Kind: ledger.ScopeTag, Value: tag + "-gw"}}); err != nil {
			b.Fatal(err)
		}
		viaGateway = append(viaGateway, ms(time.Since(start)))
	}
	p50 := func(x []float64) float64 { x = slices.Clone(x); slices.Sort(x); return x[len(x)/2] }
	return p50(viaAPI), p50(viaGateway)
}
