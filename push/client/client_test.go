package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
)

const shop = "origin:https://shop.example"

// scripted is a WebSocket server for unit tests: connection n reads the
// hello, records it, and runs script(n, hello, conn).
type scripted struct {
	url    string
	mu     sync.Mutex
	hellos []push.ClientFrame
}

func serve(t *testing.T, script func(n int, hello push.ClientFrame, c *websocket.Conn)) *scripted {
	t.Helper()
	s := &scripted{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, b, err := c.Read(r.Context())
		if err != nil {
			return
		}
		h, err := push.ParseClientFrame(b)
		if err != nil {
			c.Close(websocket.StatusCode(push.CodeProtocol), err.Error())
			return
		}
		s.mu.Lock()
		s.hellos = append(s.hellos, h)
		n := len(s.hellos) - 1
		s.mu.Unlock()
		script(n, h, c)
	}))
	t.Cleanup(hs.Close)
	s.url = "ws" + strings.TrimPrefix(hs.URL, "http")
	return s
}

func (s *scripted) hello(n int) push.ClientFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hellos[n]
}

func (s *scripted) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hellos)
}

func send(c *websocket.Conn, lines ...string) {
	c.Write(context.Background(), websocket.MessageText, []byte(strings.Join(lines, "\n")))
}

func welcome(pos string, resumed bool) string {
	return fmt.Sprintf(`{"t":"welcome","v":1,"session":"s","channels":[%q],"pos":%q,"resumed":%v,"exp":1767225600,"limits":{"channels":64,"maxFrameBytes":16384,"framesPerSecond":20}}`, shop, pos, resumed)
}

func transition(pos, key string, version int) string {
	return fmt.Sprintf(`{"t":"transition","pos":%q,"key":%q,"version":%d,"state":"INVALIDATED","owner":"Org1MSP","actor":"Org1MSP","ts":"2026-01-01T00:00:00Z","txId":"tx%d","block":%d,"txIndex":0}`, pos, key, version, version, version)
}

func closeWith(c *websocket.Conn, code push.CloseCode) {
	c.Close(websocket.StatusCode(code), code.String())
}

func fast(url string, tok client.TokenFunc) client.Config {
	return client.Config{URL: url, Channels: []string{shop}, Token: tok, Backoff: client.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}}
}

// TestRunResumesFromLastPosition: batched frames are split and handled in
// order; after a transient close the next hello carries the last position;
// a reset reaches the handler and its position is stored; a terminal close
// ends Run with that code.
func TestRunResumesFromLastPosition(t *testing.T) {
	srv := serve(t, func(n int, h push.ClientFrame, c *websocket.Conn) {
		switch n {
		case 0:
			send(c, welcome("p0", false))
			send(c, transition("p1", "https://shop.example/a", 1), transition("p2", "https://shop.example/b", 2))
			closeWith(c, push.CodeSlowConsumer)
		case 1:
			send(c, welcome("p2", false), `{"t":"reset","reason":"retention","pos":"p3"}`)
			closeWith(c, push.CodeChannelForbidden)
		}
	})
	cl, err := client.New(fast(srv.url, client.StaticToken("tok")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = cl.Run(context.Background(), func(f client.Frame) error {
		s := f.Type + "@" + f.Pos
		if f.Transition != nil {
			s += " " + f.Transition.Key
		}
		got = append(got, s)
		return nil
	})
	var ce *push.CloseError
	if !errors.As(err, &ce) || ce.Code != push.CodeChannelForbidden {
		t.Fatalf("Run: %v, want close %d", err, push.CodeChannelForbidden)
	}
	want := []string{"welcome@p0", "transition@p1 https://shop.example/a", "transition@p2 https://shop.example/b", "welcome@p2", "reset@p3"}
	if !slices.Equal(got, want) {
		t.Errorf("frames %q, want %q", got, want)
	}
	if h := srv.hello(0); h.Pos != "" || !h.Batch || h.V != push.ProtocolVersion || h.Token != "tok" {
		t.Errorf("first hello %+v", h)
	}
	if h := srv.hello(1); h.Pos != "p2" {
		t.Errorf("second hello resumes from %q, want p2", h.Pos)
	}
	if cl.Pos() != "p3" {
		t.Errorf("Pos %q after the reset, want p3", cl.Pos())
	}
}

// TestRunCloseCodes: transient codes reconnect; credential codes reconnect
// only with a new token; terminal codes end Run after one connection.
func TestRunCloseCodes(t *testing.T) {
	minted := func() client.TokenFunc {
		var n atomic.Int64
		return func(context.Context) (string, error) { return fmt.Sprintf("tok%d", n.Add(1)), nil }
	}
	for _, tc := range []struct {
		name        string
		code        push.CloseCode
		tok         client.TokenFunc
		connections int // before Run ends with the last close code
	}{
		{"shutdown reconnects", push.CodeShutdown, client.StaticToken("t"), 2},
		{"going away reconnects", 1001, client.StaticToken("t"), 2},
		{"ping timeout reconnects", push.CodePingTimeout, client.StaticToken("t"), 2},
		{"expired with a static token stops", push.CodeTokenExpired, client.StaticToken("t"), 1},
		{"expired with a minted token reconnects", push.CodeTokenExpired, minted(), 2},
		{"token invalid is terminal", push.CodeTokenInvalid, minted(), 1},
		{"protocol error is terminal", push.CodeProtocol, minted(), 1},
		{"message too big is terminal", push.CodeMessageTooBig, minted(), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(n int, h push.ClientFrame, c *websocket.Conn) {
				send(c, welcome("p0", false))
				if n == 0 {
					closeWith(c, tc.code)
				} else {
					closeWith(c, push.CodeAudience)
				}
			})
			cl, err := client.New(fast(srv.url, tc.tok))
			if err != nil {
				t.Fatal(err)
			}
			err = cl.Run(context.Background(), func(client.Frame) error { return nil })
			want := tc.code
			if tc.connections == 2 {
				want = push.CodeAudience
			}
			var ce *push.CloseError
			if !errors.As(err, &ce) || ce.Code != want {
				t.Fatalf("Run: %v, want close %d", err, want)
			}
			if n := srv.connections(); n != tc.connections {
				t.Errorf("%d connections, want %d", n, tc.connections)
			}
			if tc.connections == 2 && srv.hello(1).Pos != "p0" {
				t.Errorf("reconnect resumed from %q, want p0", srv.hello(1).Pos)
			}
		})
	}
}

// TestRunRefreshesToken: with RefreshEvery the client sends refresh frames
// with fresh tokens on the live connection.
func TestRunRefreshesToken(t *testing.T) {
	refreshes := make(chan string, 4)
	srv := serve(t, func(n int, h push.ClientFrame, c *websocket.Conn) {
		send(c, welcome("p0", false))
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			f, err := push.ParseClientFrame(b)
			if err != nil || f.T != push.TypeRefresh {
				closeWith(c, push.CodeProtocol)
				return
			}
			refreshes <- f.Token
		}
	})
	var n atomic.Int64
	cfg := fast(srv.url, func(context.Context) (string, error) { return fmt.Sprintf("tok%d", n.Add(1)), nil })
	cfg.RefreshEvery = 10 * time.Millisecond
	cl, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx, func(client.Frame) error { return nil }) }()
	first, second := <-refreshes, <-refreshes
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v", err)
	}
	if srv.hello(0).Token != "tok1" || first != "tok2" || second != "tok3" {
		t.Errorf("hello token %q, refreshes %q %q; want tok1, tok2, tok3", srv.hello(0).Token, first, second)
	}
}

// TestRunHandlerError: the handler's error ends Run, and the frame it
// refused does not advance the position.
func TestRunHandlerError(t *testing.T) {
	srv := serve(t, func(n int, h push.ClientFrame, c *websocket.Conn) {
		send(c, welcome("p0", false), transition("p1", "https://shop.example/a", 1))
		c.Read(context.Background())
	})
	cl, _ := client.New(fast(srv.url, client.StaticToken("t")))
	stop := errors.New("stop")
	err := cl.Run(context.Background(), func(f client.Frame) error {
		if f.Transition != nil {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || cl.Pos() != "p0" {
		t.Errorf("Run: %v, Pos %q; want stop, p0", err, cl.Pos())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []client.Config{
		{Channels: []string{shop}, Token: client.StaticToken("t")},
		{URL: "ws://x/ws", Channels: []string{shop}},
		{URL: "ws://x/ws", Token: client.StaticToken("t")},
		{URL: "ws://x/ws", Channels: []string{"shop"}, Token: client.StaticToken("t")},
	} {
		if _, err := client.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestDialRefused: a refusal before welcome is the server's close code.
func TestDialRefused(t *testing.T) {
	srv := serve(t, func(n int, h push.ClientFrame, c *websocket.Conn) {
		send(c, `{"t":"error","code":4404,"message":"channel forbidden"}`)
		closeWith(c, push.CodeChannelForbidden)
	})
	_, err := client.Dial(context.Background(), srv.url, push.ClientFrame{Token: "t", Channels: []string{shop}})
	var ce *push.CloseError
	if !errors.As(err, &ce) || ce.Code != push.CodeChannelForbidden {
		t.Fatalf("Dial: %v, want close 4404", err)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := client.Backoff{}
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{
		{0, 250 * time.Millisecond, 500 * time.Millisecond},
		{1, 500 * time.Millisecond, time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{20, 15 * time.Second, 30 * time.Second},
	} {
		for range 50 {
			if d := b.Delay(tc.n); d < tc.lo || d > tc.hi {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", tc.n, d, tc.lo, tc.hi)
			}
		}
	}
}
