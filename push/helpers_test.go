package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
)

var secret = []byte("test-secret-0123456789abcdef")

const wait = 60 * time.Second // generous: CI machines are loaded

func startBroker(t testing.TB, partitions int) *embedded.Broker {
	t.Helper()
	b, err := embedded.Start(context.Background(), embedded.WithPartitions(partitions))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// producer writes transitions to the broker, waiting for each batch.
type producer struct {
	t testing.TB
	p *kafka.Producer
	n int
}

func newProducer(t testing.TB, b *embedded.Broker) *producer {
	p, err := kafka.NewProducer(b.Config("test-producer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &producer{t: t, p: p}
}

// send produces one transition per key (version = a running counter) and
// returns the transitions sent.
func (pr *producer) send(key string, tags ...string) record.Transition {
	pr.t.Helper()
	return pr.sendMany([]string{key}, tags...)[0]
}

func (pr *producer) sendMany(keys []string, tags ...string) []record.Transition {
	pr.t.Helper()
	topic := record.TopicTransitions
	done := make(chan kafka.Delivery, len(keys))
	out := make([]record.Transition, len(keys))
	for i, k := range keys {
		pr.n++
		tr := record.Transition{TxID: fmt.Sprintf("tx%d", pr.n), Key: k, Version: uint64(pr.n), State: record.StateInvalidated,
			Tags: tags, Owner: "Org1MSP", Actor: "Org1MSP", Timestamp: time.Unix(1767225600, 0).UTC(),
			Traceparent: fmt.Sprintf("00-%032x-%016x-01", pr.n, pr.n)}
		v, err := tr.Marshal()
		if err != nil {
			pr.t.Fatal(err)
		}
		if err := pr.p.Produce(&kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(k), Value: v}, done); err != nil {
			pr.t.Fatal(err)
		}
		out[i] = tr
	}
	for range keys {
		if d := <-done; d.Err != nil {
			pr.t.Fatal(d.Err)
		}
	}
	return out
}

func token(t testing.TB, channels []string, mod func(*push.Claims)) string {
	t.Helper()
	c := &push.Claims{Channels: channels, RegisteredClaims: jwt.RegisteredClaims{
		Audience: jwt.ClaimStrings{push.DefaultAudience}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
		IssuedAt: jwt.NewNumericDate(time.Now())}}
	if mod != nil {
		mod(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type server struct {
	*push.Server
	http *httptest.Server
	url  string // ws://...
}

func startServer(t testing.TB, b *embedded.Broker, mod func(*push.Config)) *server {
	t.Helper()
	v, err := push.NewVerifier(secret, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := push.Config{Kafka: b.Config("test-push"), Verifier: v}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := push.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	srv := &server{Server: s, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	t.Cleanup(srv.stop)
	return srv
}

func (s *server) stop() {
	s.Server.Close()
	s.http.Close()
}

// msg is a received server frame, decoded loosely.
type msg struct {
	T        string   `json:"t"`
	Pos      string   `json:"pos"`
	Key      string   `json:"key"`
	Version  uint64   `json:"version"`
	Tags     []string `json:"tags"`
	Reason   string   `json:"reason"`
	Resumed  bool     `json:"resumed"`
	Code     int      `json:"code"`
	Trace    string   `json:"traceparent"`
	Channels []string `json:"channels"`
	Raw      []byte   `json:"-"` // the frame as received
	Message  int      `json:"-"` // which WebSocket message it came in (0: the first)
}

// client is a WebSocket test client that reads frames in the background.
// A client whose hello asks for batches splits each message into its lines.
type client struct {
	t        testing.TB
	c        *websocket.Conn
	frames   chan msg
	closed   chan websocket.StatusCode
	batch    bool
	messages atomic.Int64 // WebSocket messages read
}

func dialWS(t testing.TB, url string, hello any) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: t, c: c, frames: make(chan msg, 100000), closed: make(chan websocket.StatusCode, 1)}
	if h, ok := hello.(map[string]any); ok && h["batch"] == true {
		cl.batch = true
	}
	t.Cleanup(func() { c.CloseNow() })
	if hello != nil {
		cl.sendJSON(hello)
	}
	go cl.read()
	return cl
}

func (cl *client) sendJSON(v any) {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cl.c.Write(ctx, websocket.MessageText, b) // a refused client may already be closed
}

func (cl *client) read() {
	for {
		_, b, err := cl.c.Read(context.Background())
		if err != nil {
			cl.closed <- websocket.CloseStatus(err)
			close(cl.frames)
			return
		}
		n := int(cl.messages.Add(1)) - 1
		lines := [][]byte{b}
		if cl.batch {
			lines = bytes.Split(b, []byte("\n"))
		}
		for _, line := range lines {
			var m msg
			if err := json.Unmarshal(line, &m); err != nil {
				cl.t.Errorf("server sent invalid JSON %q: %v", line, err)
			}
			m.Raw, m.Message = line, n
			cl.frames <- m
		}
	}
}

func hello(tok string, pos string, channels ...string) map[string]any {
	return map[string]any{"t": "hello", "v": 1, "token": tok, "channels": channels, "pos": pos}
}

// subscribe dials and sends hello with a token allowing channels.
func subscribe(t testing.TB, url, pos string, channels ...string) *client {
	return dialWS(t, url, hello(token(t, channels, nil), pos, channels...))
}

// subscribeBatch is subscribe with "batch":true in the hello.
func subscribeBatch(t testing.TB, url, pos string, channels ...string) *client {
	h := hello(token(t, channels, nil), pos, channels...)
	h["batch"] = true
	return dialWS(t, url, h)
}

// next returns the next frame that is not a ping.
func (cl *client) next() msg {
	cl.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case m, ok := <-cl.frames:
			if !ok {
				cl.t.Fatalf("connection closed while waiting for a frame")
			}
			if m.T == "ping" || m.T == "pong" {
				continue
			}
			return m
		case <-timeout:
			cl.t.Fatalf("no frame within %s", wait)
		}
	}
}

// nextRaw returns the next frame that is not a server ping, as received.
func (cl *client) nextRaw() []byte {
	cl.t.Helper()
	select {
	case m, ok := <-cl.frames:
		if !ok {
			cl.t.Fatalf("connection closed while waiting for a frame")
		}
		if m.T == "ping" {
			return cl.nextRaw()
		}
		return m.Raw
	case <-time.After(wait):
		cl.t.Fatalf("no frame within %s", wait)
		return nil
	}
}

// collect reads transitions until n arrived, returning them; pos is the
// position of the last one.
func (cl *client) collect(n int) []msg {
	cl.t.Helper()
	out := make([]msg, 0, n)
	for len(out) < n {
		m := cl.next()
		if m.T != "transition" {
			cl.t.Fatalf("got %s frame %+v while collecting transitions", m.T, m)
		}
		out = append(out, m)
	}
	return out
}

// closeCode waits for the connection to end and returns its close status.
func (cl *client) closeCode() websocket.StatusCode {
	cl.t.Helper()
	go func() {
		for range cl.frames {
		}
	}()
	select {
	case c := <-cl.closed:
		return c
	case <-time.After(wait):
		cl.t.Fatal("connection not closed")
		return 0
	}
}

func keys(ms []msg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s@%d", m.Key, m.Version)
	}
	return out
}

func trKeys(ts []record.Transition) []string {
	out := make([]string, len(ts))
	for i, tr := range ts {
		out[i] = fmt.Sprintf("%s@%d", tr.Key, tr.Version)
	}
	return out
}
