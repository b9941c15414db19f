package chaincode_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

func BenchmarkPublish(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if r := e.call(org1Pub, "Publish", fmt.Sprintf("https://shop.example/p/%d", i), `"e"`, "60", `["catalog"]`, "0"); r.Status != 200 {
			b.Fatal(r.Message)
		}
	}
}

func BenchmarkInvalidate(b *testing.B) {
	e := newEnv(b)
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://shop.example/p/%d", i)
		e.publish(org1Pub, keys[i], "catalog")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if r := e.call(org1Inv, "Invalidate", keys[i], "", "0"); r.Status != 200 {
			b.Fatal(r.Message)
		}
	}
}

func BenchmarkInvalidateBatch(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e := newEnv(b)
			batches := make([]string, b.N)
			for i := range b.N {
				keys := make([]string, n)
				for j := range keys {
					keys[j] = fmt.Sprintf("https://shop.example/b%d/%d", i, j)
					e.l.SetState(keys[j], []byte(fmt.Sprintf(`{"key":%q,"version":1,"state":"VALID","owner":"Org1MSP","updatedAt":"x","txId":"t"}`, keys[j])))
				}
				j, _ := json.Marshal(keys)
				batches[i] = string(j)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var answer, event int
			for i := range b.N {
				r := e.call(org1Inv, "InvalidateBatch", batches[i], "price feed")
				if r.Status != 200 {
					b.Fatal(r.Message)
				}
				answer, event = len(r.Payload), len(r.Event.Payload)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "keys/s")
			// What each key adds to the proposal response every peer hashes
			// once per written key: the answer and the event.
			b.ReportMetric(float64(answer)/float64(n), "answer-B/key")
			b.ReportMetric(float64(event)/float64(n), "event-B/key")
		})
	}
}

// BenchmarkInvalidateCovered invalidates keys that nine purged scopes
// cover: three tags, a host, an origin and four path prefixes. A hard
// Invalidate reads none of their generation records; InvalidateSoft reads
// all nine in one round trip and stamps the entry with them.
func BenchmarkInvalidateCovered(b *testing.B) {
	for _, tx := range []string{"Invalidate", "InvalidateSoft"} {
		b.Run(tx, func(b *testing.B) {
			e := newEnv(b)
			e.ok(org1Admin, nil, "ClaimHost", "shop.example")
			keys := make([]string, b.N)
			for i := range keys {
				keys[i] = fmt.Sprintf("https://shop.example/a/b/c/%d", i)
				e.publish(org1Pub, keys[i], "catalog", "eu", "sale")
			}
			for _, s := range [][2]string{{"tag", "catalog"}, {"tag", "eu"}, {"tag", "sale"}, {"host", "shop.example"}, {"origin", "https://shop.example"},
				{"prefix", "https://shop.example/"}, {"prefix", "https://shop.example/a/"}, {"prefix", "https://shop.example/a/b/"}, {"prefix", "https://shop.example/a/b/c/"}} {
				e.purgeScope(org1Pub, s[0], s[1], false)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if r := e.call(org1Inv, tx, keys[i], "", "0"); r.Status != 200 {
					b.Fatal(r.Message)
				}
			}
		})
	}
}

// BenchmarkPurgeScope is one scope purge: a claim read, a generation read
// and one write, whatever the number of entries covered.
func BenchmarkPurgeScope(b *testing.B) {
	e := newEnv(b)
	e.ok(org1Admin, nil, "ClaimHost", "shop.example")
	b.ReportAllocs()
	for b.Loop() {
		if r := e.call(org1Pub, "PurgeScope", "prefix", "https://shop.example/p/", "", "false", ""); r.Status != 200 {
			b.Fatal(r.Message)
		}
	}
}
