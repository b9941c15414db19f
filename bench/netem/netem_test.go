package netem

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// echo serves a TCP echo server until the test ends: each connection gets
// back what it sends and is closed after the client's end of stream.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	})
	return ln.Addr().String()
}

func proxy(t *testing.T, target string, route Route) string {
	t.Helper()
	p, err := Listen("127.0.0.1:0", target, route)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Addr().String()
}

func dial(t *testing.T, ctx context.Context, addr string) net.Conn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back.
func roundTrip(c net.Conn, msg []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

func TestDelay(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: many chunks
	for _, tc := range []struct {
		name   string
		delay  time.Duration
		msgs   [][]byte
		direct bool // no route: forwarded without delay
	}{
		{name: "no delay", delay: 0, msgs: [][]byte{[]byte("ping")}},
		{name: "one message", delay: 50 * time.Millisecond, msgs: [][]byte{[]byte("ping")}},
		{name: "in order across chunks", delay: 20 * time.Millisecond, msgs: [][]byte{big}},
		{name: "several round trips", delay: 10 * time.Millisecond, msgs: [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")}},
		{name: "unrouted", delay: 0, msgs: [][]byte{[]byte("ping")}, direct: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l := NewLink(tc.delay)
			route := func(net.Conn) *Link { return l }
			if tc.direct {
				route = nil
			}
			c := dial(t, ctx, proxy(t, echo(t), route))
			start := time.Now()
			for _, m := range tc.msgs {
				if err := roundTrip(c, m); err != nil {
					t.Fatal(err)
				}
			}
			// Each round trip crosses the link twice: it cannot be faster
			// than twice the one-way delay.
			if took, least := time.Since(start), 2*tc.delay*time.Duration(len(tc.msgs)); took < least {
				t.Errorf("%d round trips took %v, less than %v", len(tc.msgs), took, least)
			}
			if !tc.direct && l.Conns() != 1 {
				t.Errorf("link carries %d connections, want 1", l.Conns())
			}
		})
	}
}

// TestEndOfStream: the client's end of stream reaches the server after the
// data before it, and the server's reply and close come back.
func TestEndOfStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := NewLink(20 * time.Millisecond)
	c := dial(t, ctx, proxy(t, echo(t), func(net.Conn) *Link { return l }))
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last words" {
		t.Fatalf("read %q, %v; want the echo then the end of stream", got, err)
	}
}

func TestCutAndHeal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cut     []int // links cut, of two
		healed  bool  // Heal after the cut
		workOn  []int // links whose connections work at the end
		failOn  []int
		dropped []int // links whose connection from before the cut ends
	}{
		{name: "cut one link", cut: []int{0}, workOn: []int{1}, failOn: []int{0}, dropped: []int{0}},
		{name: "cut both", cut: []int{0, 1}, failOn: []int{0, 1}, dropped: []int{0, 1}},
		{name: "cut and healed", cut: []int{1}, healed: true, workOn: []int{0, 1}, dropped: []int{1}},
		{name: "nothing cut", workOn: []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			target := echo(t)
			links := []*Link{NewLink(5 * time.Millisecond), NewLink(5 * time.Millisecond)}
			addrs := []string{
				proxy(t, target, func(net.Conn) *Link { return links[0] }),
				proxy(t, target, func(net.Conn) *Link { return links[1] }),
			}
			before := []net.Conn{dial(t, ctx, addrs[0]), dial(t, ctx, addrs[1])}
			for i, c := range before {
				if err := roundTrip(c, []byte("before")); err != nil {
					t.Fatalf("link %d before the cut: %v", i, err)
				}
			}
			for _, i := range tc.cut {
				links[i].Cut()
			}
			for _, i := range tc.dropped {
				if err := roundTrip(before[i], []byte("after")); err == nil {
					t.Errorf("link %d: a connection from before the cut still works", i)
				}
				if !links[i].IsCut() && !tc.healed {
					t.Errorf("link %d not reported cut", i)
				}
			}
			if tc.healed {
				for _, i := range tc.cut {
					links[i].Heal()
				}
			}
			for _, i := range tc.workOn {
				if err := roundTrip(dial(t, ctx, addrs[i]), []byte("new")); err != nil {
					t.Errorf("link %d: new connection: %v", i, err)
				}
			}
			for _, i := range tc.failOn {
				err := roundTrip(dial(t, ctx, addrs[i]), []byte("new"))
				if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("link %d while cut: new connection answered %v, want it closed", i, err)
				}
				if links[i].Conns() != 0 {
					t.Errorf("link %d while cut carries %d connections", i, links[i].Conns())
				}
			}
		})
	}
}

// TestSetDelay: a delay set while a connection is open applies to the bytes
// sent after it.
func TestSetDelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := NewLink(0)
	c := dial(t, ctx, proxy(t, echo(t), func(net.Conn) *Link { return l }))
	if err := roundTrip(c, []byte("fast")); err != nil {
		t.Fatal(err)
	}
	l.SetDelay(60 * time.Millisecond)
	start := time.Now()
	if err := roundTrip(c, []byte("slow")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 120*time.Millisecond {
		t.Errorf("round trip after SetDelay(60ms) took %v, less than two crossings", took)
	}
}

// TestClose: Close ends the proxy's open connections.
func TestClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := Listen("127.0.0.1:0", echo(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ctx, p.Addr().String())
	if err := roundTrip(c, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after Close: %v, want the end of the connection", err)
	}
}
