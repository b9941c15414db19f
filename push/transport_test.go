package push_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/cachetsync/cachet/push"
)

// rawClient is a WebSocket client that writes frames by hand, to send
// what a browser library would not: fragments, pipelined frames, control
// frames, half frames.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	rw   *bufio.ReadWriter
}

func dialRaw(t testing.TB, url string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &rawClient{t: t, conn: conn, rw: bufio.NewReadWriter(br, bufio.NewWriter(conn))}
}

// frame buffers one masked client frame; flush sends what is buffered.
func (c *rawClient) frame(fin bool, op ws.OpCode, payload []byte) *rawClient {
	c.t.Helper()
	f := ws.MaskFrameInPlace(ws.NewFrame(op, fin, append([]byte(nil), payload...)))
	if err := ws.WriteFrame(c.rw, f); err != nil {
		c.t.Fatal(err)
	}
	return c
}

func (c *rawClient) flush() {
	c.t.Helper()
	if err := c.rw.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next data message that is not a ping, and the close
// code instead once the server closes.
func (c *rawClient) next() (msg, ws.StatusCode) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		h, err := ws.ReadHeader(c.rw)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.rw, p); err != nil {
			c.t.Fatal(err)
		}
		switch h.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(p)
			return msg{Raw: p}, code
		case ws.OpText:
			var m msg
			if err := json.Unmarshal(p, &m); err != nil {
				c.t.Fatalf("server sent invalid JSON %q", p)
			}
			if m.T == "ping" {
				continue
			}
			m.Raw = p
			return m, 0
		case ws.OpPong:
			return msg{T: "ws-pong", Raw: p}, 0
		}
	}
}

func helloBytes(t testing.TB, channels ...string) []byte {
	b, _ := json.Marshal(hello(token(t, channels, nil), "", channels...))
	return b
}

// TestWSFramesBehindHello: frames the client sends right behind its hello,
// in the same packet, a fragmented message and a WebSocket ping are all
// answered in order.
func TestWSFramesBehindHello(t *testing.T) {
	srv := startServer(t, startBroker(t, 1), nil)
	c := dialRaw(t, srv.url)
	ping := []byte(`{"t":"ping"}`)
	c.frame(true, ws.OpText, helloBytes(t, shopCh)).
		frame(true, ws.OpPing, []byte("are you there")).
		frame(false, ws.OpText, ping[:5]).frame(true, ws.OpContinuation, ping[5:]).flush()
	var got []string
	for len(got) < 3 {
		m, code := c.next()
		if code != 0 {
			t.Fatalf("closed with %d after %v", code, got)
		}
		got = append(got, m.T)
		if m.T == "ws-pong" && string(m.Raw) != "are you there" {
			t.Fatalf("pong carries %q", m.Raw)
		}
	}
	if strings.Join(got, ",") != "welcome,ws-pong,pong" {
		t.Fatalf("got %v, want welcome, ws-pong, pong", got)
	}
	// Later frames reach the server through the poller.
	c.frame(true, ws.OpText, ping).flush()
	if m, code := c.next(); m.T != "pong" {
		t.Fatalf("got %q (close %d), want pong", m.Raw, code)
	}
}

// TestWSProtocolViolations: frames that break RFC 6455 close the
// connection with 4400; a close frame from the client is answered.
func TestWSProtocolViolations(t *testing.T) {
	srv := startServer(t, startBroker(t, 1), nil)
	cases := []struct {
		name string
		send func(c *rawClient)
		want ws.StatusCode
	}{
		{"continuation without a start", func(c *rawClient) {
			c.frame(true, ws.OpContinuation, []byte("x")).flush()
		}, ws.StatusCode(push.CodeProtocol)},
		{"unmasked frame", func(c *rawClient) {
			ws.WriteFrame(c.rw, ws.NewTextFrame([]byte(`{"t":"ping"}`)))
			c.flush()
		}, ws.StatusCode(push.CodeProtocol)},
		{"fragmented ping", func(c *rawClient) {
			c.frame(false, ws.OpPing, []byte("x")).flush()
		}, ws.StatusCode(push.CodeProtocol)},
		{"fragments over the frame limit", func(c *rawClient) {
			part := make([]byte, 10<<10)
			c.frame(false, ws.OpText, part).frame(true, ws.OpContinuation, part).flush()
		}, ws.StatusMessageTooBig},
		{"client close", func(c *rawClient) {
			c.frame(true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")).flush()
		}, ws.StatusNormalClosure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.url)
			c.frame(true, ws.OpText, helloBytes(t, shopCh)).flush()
			if m, _ := c.next(); m.T != "welcome" {
				t.Fatalf("got %q, want welcome", m.Raw)
			}
			tc.send(c)
			for {
				_, code := c.next()
				if code != 0 {
					if code != tc.want {
						t.Fatalf("closed with %d, want %d", code, tc.want)
					}
					return
				}
			}
		})
	}
}

// TestWSHalfFrameCutOff: a client that stops in the middle of a frame is
// disconnected after the hello timeout instead of holding a reader.
func TestWSHalfFrameCutOff(t *testing.T) {
	srv := startServer(t, startBroker(t, 1), func(c *push.Config) { c.HelloTimeout = 300 * time.Millisecond })
	c := dialRaw(t, srv.url)
	c.frame(true, ws.OpText, helloBytes(t, shopCh)).flush()
	if m, _ := c.next(); m.T != "welcome" {
		t.Fatalf("got %q, want welcome", m.Raw)
	}
	c.rw.Write([]byte{0x81, 0x80 | 20, 1, 2}) // a header announcing 20 bytes, half its mask
	c.flush()
	c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := wsutil.ReadServerData(c.rw); err != nil {
			return // the server hung up
		}
	}
}

// TestWSIdleConnectionsHoldNoGoroutine: an idle subscriber costs no
// goroutine; the poller wakes a reader only when a client sends.
func TestWSIdleConnectionsHoldNoGoroutine(t *testing.T) {
	const n = 200
	br := startBroker(t, 1)
	srv := startServer(t, br, func(c *push.Config) { c.MaxConnsPerIP = n + 10 })
	pr := newProducer(t, br)
	before := runtime.NumGoroutine()
	cs := make([]*rawClient, n)
	for i := range cs {
		cs[i] = dialRaw(t, srv.url)
		cs[i].frame(true, ws.OpText, helloBytes(t, shopCh)).flush()
		if m, _ := cs[i].next(); m.T != "welcome" {
			t.Fatalf("got %q, want welcome", m.Raw)
		}
	}
	// Handshake goroutines end shortly after the welcome is written.
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine()-before > n/10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more with %d idle connections", runtime.NumGoroutine()-before, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// They still receive, and still answer.
	pr.send("https://shop.example/idle")
	for i, c := range cs {
		if m, _ := c.next(); m.T != "transition" {
			t.Fatalf("connection %d: got %q, want the transition", i, m.Raw)
		}
	}
	cs[n-1].frame(true, ws.OpText, []byte(`{"t":"ping"}`)).flush()
	if m, _ := cs[n-1].next(); m.T != "pong" {
		t.Fatalf("got %q, want pong", m.Raw)
	}
}
