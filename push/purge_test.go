package push_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
)

// purge produces one generation record for scope, as the relay writes it:
// keyed by the scope.
func (pr *producer) purge(kind record.ScopeKind, value string, gen uint64, soft bool) record.Generation {
	pr.t.Helper()
	pr.n++
	g := record.Generation{V: record.Version, Channel: "cachet", TxID: fmt.Sprintf("tx%d", pr.n), Timestamp: time.Unix(1767225600, 0).UTC(),
		Position: record.Position{Block: uint64(pr.n)}, Actor: "Org1MSP",
		Purge: record.Purge{Scope: record.Scope{Kind: kind, Value: value}, Owner: "Org1MSP", Generation: gen, Soft: soft}}
	v, err := g.Marshal()
	if err != nil {
		pr.t.Fatal(err)
	}
	done := make(chan kafka.Delivery, 1)
	if err := pr.p.Produce(&kafka.Message{Topic: record.TopicPurges, Partition: kafka.PartitionAny, Key: []byte(g.Scope.String()), Value: v}, done); err != nil {
		pr.t.Fatal(err)
	}
	if d := <-done; d.Err != nil {
		pr.t.Fatal(d.Err)
	}
	return g
}

// purgeMsg is a purge frame as a client reads it.
type purgeMsg struct {
	T          string `json:"t"`
	Pos        string `json:"pos"`
	Scope      string `json:"scope"`
	Value      string `json:"value"`
	Owner      string `json:"owner"`
	Generation uint64 `json:"generation"`
	Soft       bool   `json:"soft"`
	TxID       string `json:"txId"`
	Block      uint64 `json:"block"`
}

func asPurge(t *testing.T, m msg) purgeMsg {
	t.Helper()
	var p purgeMsg
	if err := json.Unmarshal(m.Raw, &p); err != nil || p.T != push.TypePurge || p.Pos == "" {
		t.Fatalf("got %s, want a purge frame with a position", m.Raw)
	}
	return p
}

// TestPurgeFramesOnCoveredChannels: each scope purge reaches exactly the
// subscribers of the channels that can hold keys it covers, once.
func TestPurgeFramesOnCoveredChannels(t *testing.T) {
	b := startBroker(t, 3)
	srv := startServer(t, b, nil)
	pr := newProducer(t, b)
	subs := map[string]*client{}
	for _, ch := range []string{"tag:catalog", "origin:https://shop.example", "origin:http://shop.example:8080",
		"origin:https://other.example", "tag:other"} {
		subs[ch] = subscribe(t, srv.url, "", ch)
		if w := subs[ch].next(); w.T != "welcome" {
			t.Fatalf("%s: got %+v, want welcome", ch, w)
		}
	}
	sent := []record.Generation{
		pr.purge(record.ScopeTag, "catalog", 1, false),
		pr.purge(record.ScopePrefix, "https://shop.example/p/", 1, true),
		pr.purge(record.ScopeHost, "shop.example", 1, false),
		pr.purge(record.ScopeOrigin, "https://other.example", 1, false),
	}
	want := map[string][]int{ // indexes into sent, in order per scope
		"tag:catalog":                     {0},
		"origin:https://shop.example":     {0, 1, 2},
		"origin:http://shop.example:8080": {0, 2},
		"origin:https://other.example":    {0, 3},
		"tag:other":                       nil,
	}
	for ch, idx := range want {
		got := map[string]purgeMsg{}
		for range idx {
			p := asPurge(t, subs[ch].next())
			got[p.Scope+":"+p.Value] = p
		}
		for _, i := range idx {
			g := sent[i]
			p, ok := got[g.Scope.String()]
			if !ok || p.Generation != g.Generation || p.Soft != g.Soft || p.TxID != g.TxID || p.Owner != "Org1MSP" || p.Block != g.Block {
				t.Errorf("%s: got %+v for %s, want generation %d soft %v tx %s", ch, p, g.Scope, g.Generation, g.Soft, g.TxID)
			}
		}
	}
	// A transition on every channel arrives next: no purge was repeated or
	// delivered where its scope holds no keys.
	pr.send("https://shop.example/end", "catalog", "other")
	pr.send("http://shop.example:8080/end")
	pr.send("https://other.example/end")
	for ch, c := range subs {
		if m := c.next(); m.T != push.TypeTransition {
			t.Errorf("%s: got %s after its purges, want the closing transition", ch, m.Raw)
		}
	}
}

// purgeResume: a client that left after a transition gets the purges it
// missed when it resumes, in generation order, then live ones.
func purgeResume(t *testing.T, window int, wantOutcome string) {
	b := startBroker(t, 3)
	srv := startServer(t, b, func(c *push.Config) { c.Window = window })
	pr := newProducer(t, b)
	const ch = "tag:catalog"
	c1 := subscribe(t, srv.url, "", ch)
	if w := c1.next(); w.T != "welcome" {
		t.Fatalf("got %+v, want welcome", w)
	}
	pr.send("https://shop.example/a", "catalog")
	pos := c1.next().Pos
	c1.c.CloseNow()

	for gen := uint64(1); gen <= 5; gen++ {
		pr.purge(record.ScopeTag, "catalog", gen, false)
	}
	pr.purge(record.ScopeTag, "other", 1, false)
	c2 := subscribe(t, srv.url, pos, ch)
	if w := c2.next(); w.T != "welcome" || !w.Resumed {
		t.Fatalf("got %+v, want a resumed welcome", w)
	}
	var last string
	for gen := uint64(1); gen <= 5; gen++ {
		p := asPurge(t, c2.next())
		if p.Generation != gen || p.Value != "catalog" {
			t.Fatalf("replay: got %+v, want tag:catalog generation %d", p, gen)
		}
		last = p.Pos
	}
	pr.purge(record.ScopeTag, "catalog", 6, true)
	if p := asPurge(t, c2.next()); p.Generation != 6 || !p.Soft {
		t.Fatalf("live: got %+v, want soft generation 6", p)
	}
	if n := metricValue(t, srv, `cachet_push_resumes_total{outcome="`+wantOutcome+`"}`); n != 1 {
		t.Fatalf("resumes{%s} = %v, want 1", wantOutcome, n)
	}
	// Resuming at the last replayed purge's position repeats nothing.
	c2.c.CloseNow()
	c3 := subscribe(t, srv.url, last, ch)
	if w := c3.next(); w.T != "welcome" || !w.Resumed {
		t.Fatalf("got %+v, want a resumed welcome", w)
	}
	if p := asPurge(t, c3.next()); p.Generation != 6 {
		t.Fatalf("second resume: got %+v, want only generation 6", p)
	}
}

func TestPurgeResumeInWindow(t *testing.T) { purgeResume(t, 4096, "window") }

// A window of one record per partition cannot hold five purges of one
// scope (one partition): the server reads them back from Kafka.
func TestPurgeResumeFromKafka(t *testing.T) { purgeResume(t, 1, "kafka") }
