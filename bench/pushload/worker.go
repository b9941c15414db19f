package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// workerReport is one line a worker writes to its coordinator: once when
// its connections are open, then in answer to each "report".
type workerReport struct {
	Ready    int          `json:"ready"`
	Failed   int          `json:"failed"`
	Err      string       `json:"err,omitempty"` // the first dial or handshake failure
	Received int64        `json:"received"`      // deliveries since the last reset
	Frames   int64        `json:"frames"`        // WebSocket data frames they came in, since the last reset
	Closed   int64        `json:"closed"`        // connections the server ended after they were ready
	Last     int64        `json:"last"`          // Unix nanoseconds of the latest delivery
	Hist     []int64      `json:"hist,omitempty"`
	Check    *checkReport `json:"check,omitempty"` // the answer to "check"
}

// checkReport compares each connection's deliveries since the last reset
// with what it should have received.
type checkReport struct {
	Short int   `json:"short"` // connections that received fewer
	Over  int   `json:"over"`  // connections that received more
	Lost  int64 `json:"lost"`  // deliveries missing, summed over the short ones
	Dup   int64 `json:"dup"`   // deliveries beyond the expected, summed over the others
	Min   int64 `json:"min"`   // fewest deliveries one connection received
}

// client is one connection's subscription and its delivery count.
type client struct {
	ch       int      // channel index: the connection subscribes to channelName(ch)
	channels []string // what its hello asks for
	n        atomic.Int64
}

// worker holds a share of the bench's connections in its own process (the
// open-files limit is per process) and measures each delivery's latency
// from the produce time it carries.
type worker struct {
	proto    protocol
	hist     hist
	received atomic.Int64
	frames   atomic.Int64
	closed   atomic.Int64
	last     atomic.Int64
	live     atomic.Bool // ready: later read failures count as closes

	mu      sync.Mutex
	conns   []net.Conn
	clients []*client
}

// runWorker opens --conns connections from --source and then answers
// "report", "reset" and "quit" lines on in until quit or end of input.
func runWorker(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("pushload worker", flag.ContinueOnError)
	target := fs.String("target", "push", "push or centrifugo")
	url := fs.String("url", "", "WebSocket URL of the server")
	conns := fs.Int("conns", 100, "connections to hold")
	first := fs.Int("first", 0, "bench-wide index of the first connection (picks channels)")
	channels := fs.Int("channels", 10, "channels in the bench; connection i subscribes to channel i mod channels")
	source := fs.String("source", "127.0.0.1", "local address to connect from")
	secret := fs.String("secret", "", "HS256 secret of the server's tokens")
	parallel := fs.Int("dial-concurrency", 32, "handshakes in flight")
	batch := fs.Bool("batch", true, "push: ask for batched frames (several messages per frame, one per line)")
	also := fs.String("also", "", "a channel every connection subscribes to besides its own")
	if err := fs.Parse(args); err != nil {
		return err
	}
	proto, err := protocolFor(*target, *secret, *batch)
	if err != nil {
		return err
	}
	src := net.ParseIP(*source)
	if src == nil {
		return fmt.Errorf("bad --source %q", *source)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &worker{proto: proto}
	defer w.closeAll()

	dialer := ws.Dialer{Timeout: 60 * time.Second, NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}
		return d.DialContext(ctx, network, addr)
	}}
	var (
		rep   workerReport
		repMu sync.Mutex
		sem   = make(chan struct{}, max(1, *parallel))
		wg    sync.WaitGroup
	)
	for i := 0; i < *conns; i++ {
		sem <- struct{}{}
		wg.Add(1)
		c := &client{ch: (*first + i) % *channels}
		c.channels = []string{channelName(c.ch)}
		if *also != "" {
			c.channels = append(c.channels, *also)
		}
		go func() {
			defer wg.Done()
			err := w.open(ctx, dialer, *url, c, func() { <-sem })
			repMu.Lock()
			defer repMu.Unlock()
			if err != nil {
				rep.Failed++
				if rep.Err == "" {
					rep.Err = err.Error()
				}
				return
			}
			rep.Ready++
		}()
	}
	wg.Wait()
	w.live.Store(true)
	enc := json.NewEncoder(out)
	if err := enc.Encode(rep); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if want, ok := strings.CutPrefix(sc.Text(), "check "); ok {
			var exp []int64
			if err := json.Unmarshal([]byte(want), &exp); err != nil {
				return fmt.Errorf("check: %w", err)
			}
			if err := enc.Encode(workerReport{Check: w.check(exp)}); err != nil {
				return err
			}
			continue
		}
		switch sc.Text() {
		case "report":
			r := workerReport{Ready: rep.Ready, Failed: rep.Failed, Received: w.received.Load(), Frames: w.frames.Load(),
				Closed: w.closed.Load(), Last: w.last.Load(), Hist: w.hist.snapshot()}
			if err := enc.Encode(r); err != nil {
				return err
			}
		case "reset":
			w.hist.reset()
			w.received.Store(0)
			w.frames.Store(0)
			w.last.Store(0)
			w.mu.Lock()
			for _, c := range w.clients {
				c.n.Store(0)
			}
			w.mu.Unlock()
			if err := enc.Encode(workerReport{}); err != nil {
				return err
			}
		case "quit":
			return nil
		}
	}
	return sc.Err()
}

// check compares every connection's count with exp[its channel index].
func (w *worker) check(exp []int64) *checkReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &checkReport{Min: -1}
	for _, c := range w.clients {
		var want int64
		if c.ch < len(exp) {
			want = exp[c.ch]
		}
		got := c.n.Load()
		if r.Min < 0 || got < r.Min {
			r.Min = got
		}
		switch {
		case got < want:
			r.Short++
			r.Lost += want - got
		case got > want:
			r.Over++
			r.Dup += got - want
		}
	}
	return r
}

// open dials, subscribes to c's channels and, once welcomed, reads deliveries in the
// background until the connection ends. done is called when the handshake
// is over, whatever its outcome.
func (w *worker) open(ctx context.Context, d ws.Dialer, url string, c *client, done func()) error {
	defer done()
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return err
	}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{bufio.NewReaderSize(r, 2048), conn}
	hello, err := w.proto.hello(c.channels)
	if err == nil {
		err = wsutil.WriteClientText(conn, hello)
	}
	if err != nil {
		conn.Close()
		return err
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for welcomed := false; !welcomed; {
		msg, _, err := wsutil.ReadServerData(rw)
		if err != nil {
			conn.Close()
			return fmt.Errorf("waiting for the welcome: %w", err)
		}
		// The welcome may share its frame with what follows it.
		w.frames.Add(1)
		for line := range lines(msg) {
			switch {
			case welcomed:
				w.message(conn, c, line, time.Now())
			case w.proto.welcome(line):
				welcomed = true
			case w.proto.pong(line) == nil:
				conn.Close()
				return fmt.Errorf("refused: %.200s", line)
			}
		}
	}
	conn.SetReadDeadline(time.Time{})
	w.mu.Lock()
	w.conns = append(w.conns, conn)
	w.clients = append(w.clients, c)
	w.mu.Unlock()
	go w.read(ctx, conn, c, rw)
	return nil
}

// read counts deliveries and their latency until the connection ends. It
// reads frames into one reused buffer: the load generator shares the cores
// with the server it measures, so it spends as little as it can per
// message.
func (w *worker) read(ctx context.Context, conn net.Conn, c *client, rw io.ReadWriter) {
	var buf []byte
	hdr := make([]byte, ws.MaxHeaderSize-2)
	for {
		msg, op, err := readFrame(rw, hdr, &buf)
		if err != nil {
			if ctx.Err() == nil && w.live.Load() {
				w.closed.Add(1)
			}
			return
		}
		switch op {
		case ws.OpPing:
			wsutil.WriteClientMessage(conn, ws.OpPong, msg)
			continue
		case ws.OpClose:
			if ctx.Err() == nil && w.live.Load() {
				w.closed.Add(1)
			}
			return
		case ws.OpPong:
			continue
		}
		now := time.Now()
		w.frames.Add(1)
		for line := range lines(msg) {
			w.message(conn, c, line, now)
		}
	}
}

// lines yields the messages of one frame: both servers may merge several,
// one per line.
func lines(msg []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(msg) > 0 {
			line := msg
			if i := bytes.IndexByte(msg, '\n'); i >= 0 {
				line, msg = msg[:i], msg[i+1:]
			} else {
				msg = nil
			}
			if !yield(line) {
				return
			}
		}
	}
}

// message counts one delivery to c received at now, or answers a ping.
func (w *worker) message(conn net.Conn, c *client, line []byte, now time.Time) {
	if t, ok := producedAt(line); ok {
		w.hist.add(now.Sub(t))
		w.received.Add(1)
		c.n.Add(1)
		w.setLast(now.UnixNano())
	} else if p := w.proto.pong(line); p != nil {
		wsutil.WriteClientText(conn, p)
	}
}

// readFrame reads one whole server frame (fragments are not expected from
// either server) into *buf.
func readFrame(r io.Reader, hdr []byte, buf *[]byte) ([]byte, ws.OpCode, error) {
	h, err := ws.ReadHeaderBuffer(r, hdr)
	if err != nil {
		return nil, 0, err
	}
	if !h.Fin {
		return nil, 0, errors.New("fragmented server frame")
	}
	if int64(cap(*buf)) < h.Length {
		*buf = make([]byte, h.Length)
	}
	b := (*buf)[:h.Length]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, 0, err
	}
	return b, h.OpCode, nil
}

func (w *worker) setLast(ns int64) {
	for {
		old := w.last.Load()
		if ns <= old || w.last.CompareAndSwap(old, ns) {
			return
		}
	}
}

func (w *worker) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.conns {
		c.Close()
	}
}
