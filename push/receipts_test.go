package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
)

// readRecords consumes topic from the start until want records arrived and
// returns their keys and values.
func readRecords(t *testing.T, b *embedded.Broker, topic string, want int) (keys []string, values [][]byte) {
	t.Helper()
	c, err := kafka.NewConsumer(b.Config("test-reads"), "test-reads-"+t.Name(), "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{topic}, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(wait); len(keys) < want && time.Now().Before(deadline); {
		if m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message); ok {
			keys = append(keys, string(m.Key))
			values = append(values, m.Value)
		}
	}
	if len(keys) < want {
		t.Fatalf("%s holds %d records, want %d", topic, len(keys), want)
	}
	return keys, values
}

func readJSON(kind, key string, mod func(map[string]any)) map[string]any {
	r := map[string]any{"v": 1, "kind": kind, "key": key, "version": 7, "origin": "https://shop.example",
		"client": "c-1", "at": "2026-11-25T06:41:00.123Z", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	if mod != nil {
		mod(r)
	}
	return r
}

// badReads are one read per drop reason, with the reason.
var badReads = []struct {
	reason string
	read   any
}{
	{push.DropForbidden, readJSON("hit", "https://news.example/a", nil)},
	{push.DropForbidden, readJSON("hit", "app:settings", nil)}, // opaque keys have no origin channel
	{push.DropKey, readJSON("hit", "https://SHOP.example/a", nil)},
	{push.DropInvalid, readJSON("peek", "https://shop.example/a", nil)},
	{push.DropInvalid, readJSON("hit", "https://shop.example/a", func(r map[string]any) { delete(r, "at") })},
	{push.DropVersion, readJSON("hit", "https://shop.example/a", func(r map[string]any) { r["v"] = 2 })},
	{push.DropMalformed, 5},
	{push.DropMalformed, readJSON("hit", "https://shop.example/a", func(r map[string]any) { r["version"] = "seven" })},
}

// TestReceiptsOverWebSocket: valid reads are produced unchanged to
// cachet.reads keyed by cache key and acknowledged; each bad one is dropped
// and counted under its reason; the connection stays open.
func TestReceiptsOverWebSocket(t *testing.T) {
	b := startBroker(t, 2)
	srv := startServer(t, b, nil)
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	good := []any{readJSON("evict", "https://shop.example/a", nil),
		readJSON("hit", "https://shop.example/b?x=1", func(r map[string]any) { delete(r, "version"); delete(r, "traceparent") })}
	reads := slices.Clone(good)
	for _, br := range badReads {
		reads = append(reads, br.read)
	}
	c.sendJSON(map[string]any{"t": "receipts", "reads": reads})
	var ack struct {
		T       string `json:"t"`
		N       int    `json:"n"`
		Dropped int    `json:"dropped"`
	}
	m := c.nextRaw()
	if err := json.Unmarshal(m, &ack); err != nil || ack.T != "receipted" || ack.N != 2 || ack.Dropped != len(badReads) {
		t.Fatalf("got %s, want receipted n=2 dropped=%d", m, len(badReads))
	}
	keys, values := readRecords(t, b, record.TopicReads, 2)
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"https://shop.example/a", "https://shop.example/b?x=1"}) {
		t.Fatalf("record keys %v", keys)
	}
	for _, v := range values {
		r, err := record.DecodeRead(v)
		if err != nil {
			t.Fatal(err)
		}
		if r.Key == "https://shop.example/a" && (r.Kind != record.ReadEvict || r.Version != 7 || r.Client != "c-1" ||
			!strings.HasPrefix(r.Traceparent, "00-4bf9") || r.At.UnixMilli()%1000 != 123) {
			t.Errorf("read changed on the way: %+v", r)
		}
	}
	want := map[string]float64{}
	for _, br := range badReads {
		want[br.reason]++
	}
	for reason, n := range want {
		if got := metricValue(t, srv, `cachet_push_reads_dropped_total{reason="`+reason+`"}`); got != n {
			t.Errorf("reads dropped{%s} = %v, want %v", reason, got, n)
		}
	}
	if got := metricValue(t, srv, "cachet_push_reads_accepted_total"); got != 2 {
		t.Errorf("reads accepted = %v, want 2", got)
	}
	c.sendJSON(map[string]any{"t": "ping"})
	if m := c.nextRaw(); !bytes.Contains(m, []byte(`"pong"`)) {
		t.Fatalf("after receipts got %s, want pong", m)
	}
}

// A read is accepted only for origins among the connection's channels,
// even when the token would allow more.
func TestReceiptsOnlyForGrantedChannels(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	tok := token(t, []string{"origin:https://*"}, nil)
	c := dialWS(t, srv.url, hello(tok, "", shopCh))
	c.next()
	c.sendJSON(map[string]any{"t": "receipts", "reads": []any{readJSON("hit", "https://news.example/a", nil)}})
	if m := c.nextRaw(); !bytes.Contains(m, []byte(`"n":0,"dropped":1`)) {
		t.Fatalf("got %s, want n=0 dropped=1", m)
	}
}

func TestReceiptsFrameShape(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	many := make([]any, push.MaxReadsPerFrame+1)
	for i := range many {
		many[i] = 1
	}
	for _, tc := range []struct {
		name  string
		frame any
	}{
		{"reads not an array", map[string]any{"t": "receipts", "reads": map[string]any{"kind": "hit"}}},
		{"no reads", map[string]any{"t": "receipts"}},
		{"too many reads", map[string]any{"t": "receipts", "reads": many}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := subscribe(t, srv.url, "", shopCh)
			c.next()
			c.sendJSON(tc.frame)
			if got := c.closeCode(); got != websocket.StatusCode(push.CodeProtocol) {
				t.Fatalf("close %d, want %d", got, push.CodeProtocol)
			}
		})
	}
}

// post sends body to path with a bearer token and an optional Origin.
func post(t *testing.T, srv *server, path, tok, origin string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// TestPostReceipts: the HTTP endpoint checks token, origin, size and rate
// like a WebSocket frame, and uses the token's channels for the origin check.
func TestPostReceipts(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) {
		c.AllowedOrigins = []string{"https://shop.example"}
		c.MaxFrameBytes = 4096
		c.FramesPerSecond = 3 // bursts of 6
	})
	tok := token(t, []string{shopCh}, nil)
	body, _ := json.Marshal(map[string]any{"t": "receipts", "reads": []any{readJSON("miss", "https://shop.example/p", nil),
		readJSON("miss", "https://news.example/p", nil)}})
	resp, out := post(t, srv, "/receipts", tok, "https://shop.example", body)
	if resp.StatusCode != 200 || string(out) != `{"t":"receipted","n":1,"dropped":1}` {
		t.Fatalf("status %d %s", resp.StatusCode, out)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	if keys, _ := readRecords(t, b, record.TopicReads, 1); keys[0] != "https://shop.example/p" {
		t.Fatalf("record key %q", keys[0])
	}
	big, _ := json.Marshal(map[string]any{"t": "receipts", "reads": []any{readJSON("hit", "https://shop.example/"+strings.Repeat("x", 5000), nil)}})
	for _, tc := range []struct {
		name, tok, origin string
		body              []byte
		status            int
	}{
		{"no token", "", "", body, http.StatusUnauthorized},
		{"bad token", "forged", "", body, http.StatusUnauthorized},
		{"foreign origin", tok, "https://evil.example", body, http.StatusForbidden},
		{"not a receipts frame", tok, "", []byte(`{"t":"ping"}`), http.StatusBadRequest},
		{"not JSON", tok, "", []byte(`{`), http.StatusBadRequest},
		{"too big", tok, "", big, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp, out := post(t, srv, "/receipts", tc.tok, tc.origin, tc.body); resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, out, tc.status)
			}
		})
	}
	// The requests above used the burst: the next ones are refused.
	limited := false
	for range 10 {
		if resp, _ := post(t, srv, "/receipts", tok, "", body); resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("no 429 past the rate limit")
	}
}

// TestCORS: allowed origins are echoed on /sse, /receipts and /spans and
// their preflights; foreign origins are refused.
func TestCORS(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.AllowedOrigins = []string{"http://127.0.0.1:5173"} })
	const page = "http://127.0.0.1:5173"
	for _, path := range []string{"/receipts", "/spans", "/sse"} {
		for _, tc := range []struct {
			origin string
			status int
		}{{page, http.StatusNoContent}, {"http://127.0.0.1:6666", http.StatusForbidden}} {
			req, _ := http.NewRequest("OPTIONS", srv.http.URL+path, nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("OPTIONS %s from %s: %d, want %d", path, tc.origin, resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusNoContent {
				if resp.Header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("OPTIONS %s from %s: allowed", path, tc.origin)
				}
				continue
			}
			h := resp.Header
			if h.Get("Access-Control-Allow-Origin") != page || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("OPTIONS %s: headers %v", path, h)
			}
			if path != "/sse" && (h.Get("Access-Control-Allow-Methods") != "POST" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type")) {
				t.Errorf("OPTIONS %s: headers %v", path, h)
			}
		}
	}
	// An EventSource from the page: token in the query, Origin echoed.
	tok := token(t, []string{shopCh}, nil)
	for _, tc := range []struct {
		origin string
		status int
	}{{page, http.StatusOK}, {"https://evil.example", http.StatusForbidden}} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.http.URL+"/sse?channels="+shopCh+"&token="+tok, nil)
		req.Header.Set("Origin", tc.origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("GET /sse from %s: %d, want %d", tc.origin, resp.StatusCode, tc.status)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); (tc.status == 200) != (got == tc.origin) {
			t.Errorf("GET /sse from %s: Access-Control-Allow-Origin %q", tc.origin, got)
		}
		cancel()
		resp.Body.Close()
	}
}

// TestReceiptsKafkaRefuses: while Kafka refuses the reads, the server
// acknowledges nothing (WebSocket: no receipted; POST: 503), so the client
// keeps them; once Kafka takes them again they are acknowledged. (A read
// the producer still delivers after its frame went unacknowledged is
// stored twice once the client resends it: reads are at least once.)
func TestReceiptsKafkaRefuses(t *testing.T) {
	b := startBroker(t, 1)
	srv := startServer(t, b, func(c *push.Config) { c.ReceiptTimeout = time.Second })
	cl := b.Cluster()
	var refuse atomic.Bool
	refuse.Store(true)
	cl.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			t := kmsg.NewProduceResponseTopic()
			t.Topic, t.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				p := kmsg.NewProduceResponseTopicPartition()
				p.Partition = rp.Partition
				p.ErrorCode = kerr.NotEnoughReplicas.Code // retriable: the producer tries until it gives up
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	frame := map[string]any{"t": "receipts", "reads": []any{readJSON("evict", "https://shop.example/a", nil)}}
	c.sendJSON(frame)
	eventually(t, "the refused read counted", func() bool {
		return metricValue(t, srv, `cachet_push_reads_dropped_total{reason="unavailable"}`) == 1
	})
	body, _ := json.Marshal(frame)
	tok := token(t, []string{shopCh}, nil)
	if resp, out := post(t, srv, "/receipts", tok, "", body); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST while Kafka refuses: %d %s, want 503", resp.StatusCode, out)
	}
	refuse.Store(false)
	c.sendJSON(frame)
	if m := c.nextRaw(); string(m) != `{"t":"receipted","n":1,"dropped":0}` {
		t.Fatalf("got %s, want only the second frame acknowledged", m)
	}
	c.sendJSON(map[string]any{"t": "ping"})
	if m := c.nextRaw(); !bytes.Contains(m, []byte(`"pong"`)) {
		t.Fatalf("got %s, want pong", m)
	}
	if resp, out := post(t, srv, "/receipts", tok, "", body); resp.StatusCode != 200 {
		t.Fatalf("POST after Kafka is back: %d %s", resp.StatusCode, out)
	}
	readRecords(t, b, record.TopicReads, 2)
}

// Answers come in the order of the receipts frames, so a client with
// several in flight knows which reads each one covers.
func TestReceiptedInOrder(t *testing.T) {
	b := startBroker(t, 2)
	srv := startServer(t, b, nil)
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	const frames = 8
	for i := range frames {
		reads := make([]any, i+1)
		for j := range reads {
			reads[j] = readJSON("hit", fmt.Sprintf("https://shop.example/%d/%d", i, j), nil)
		}
		c.sendJSON(map[string]any{"t": "receipts", "reads": reads})
	}
	for i := range frames {
		want := fmt.Sprintf(`{"t":"receipted","n":%d,"dropped":0}`, i+1)
		if m := c.nextRaw(); string(m) != want {
			t.Fatalf("answer %d: %s, want %s", i, m, want)
		}
	}
}
