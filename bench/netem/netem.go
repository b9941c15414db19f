// Package netem emulates wide-area links between data centers on one
// machine, where the kernel offers no traffic shaping: a TCP proxy forwards
// each accepted connection to its target through a Link, which delays every
// byte by the link's one-way delay in each direction and can be cut (its
// connections dropped, new ones refused) and healed.
//
// Bytes are delivered in order: each chunk read from one side is stamped
// with the time it is due and written to the other side when that time
// comes, while later chunks are already being read, so a stream is delayed
// by the one-way delay, not by the delay once per chunk.
package netem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ErrCut is returned by Link.Dial while the link is cut.
var ErrCut = errors.New("netem: link cut")

// Link is a path between two places: a one-way delay applied to both
// directions, and a cut that drops its connections and refuses new ones
// until healed. The zero value is not usable; use NewLink.
type Link struct {
	mu    sync.Mutex
	delay time.Duration
	cut   bool
	conns map[*pair]struct{}
}

// NewLink returns a healed link with a one-way delay.
func NewLink(delay time.Duration) *Link {
	return &Link{delay: delay, conns: map[*pair]struct{}{}}
}

// SetDelay changes the one-way delay; bytes read from then on are delayed
// by it.
func (l *Link) SetDelay(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delay = d
}

// Delay is the current one-way delay.
func (l *Link) Delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delay
}

// Cut closes every connection on the link and refuses new ones until Heal.
func (l *Link) Cut() {
	l.mu.Lock()
	l.cut = true
	conns := make([]*pair, 0, len(l.conns))
	for p := range l.conns {
		conns = append(conns, p)
	}
	l.mu.Unlock()
	for _, p := range conns {
		p.close()
	}
}

// Heal lets new connections through again.
func (l *Link) Heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

// IsCut reports whether the link is cut.
func (l *Link) IsCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// Conns is the number of connections open on the link.
func (l *Link) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Carry forwards between a and b through the link until either side closes
// or the link is cut, then closes both. It returns ErrCut at once, closing
// both, if the link is cut.
func (l *Link) Carry(a, b net.Conn) error {
	p := &pair{a: a, b: b}
	l.mu.Lock()
	if l.cut {
		l.mu.Unlock()
		p.close()
		return ErrCut
	}
	l.conns[p] = struct{}{}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.conns, p)
		l.mu.Unlock()
		p.close()
	}()
	done := make(chan struct{}, 2)
	go func() { l.pump(p, a, b); done <- struct{}{} }()
	go func() { l.pump(p, b, a); done <- struct{}{} }()
	<-done
	<-done
	return nil
}

// chunk is data read at one moment, due for delivery at due; eof marks the
// end of the stream.
type chunk struct {
	data []byte
	due  time.Time
	eof  bool
}

// queueLen bounds the chunks in flight per direction; a full queue stops
// reading, as a full window would.
const queueLen = 256

// pump copies src to dst, each chunk delayed by the link's delay at the time
// it was read. At the end of src it closes dst's write side once the chunks
// before have been delivered; on an error either way it drops the whole
// connection.
func (l *Link) pump(p *pair, src, dst net.Conn) {
	q := make(chan chunk, queueLen)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{data: buf[:n], due: time.Now().Add(l.Delay())}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					q <- chunk{due: time.Now().Add(l.Delay()), eof: true}
				}
				return
			}
		}
	}()
	clean := false
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			timer.Reset(wait)
			<-timer.C
		}
		if c.eof {
			cw, ok := dst.(interface{ CloseWrite() error })
			clean = ok && cw.CloseWrite() == nil
			break
		}
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	if !clean {
		p.close()
	}
	for range q { // the reader ends once src is closed or at its end
	}
}

// pair is one proxied connection: the accepted side and the dialled side.
type pair struct {
	a, b net.Conn
	once sync.Once
}

func (p *pair) close() {
	p.once.Do(func() {
		p.a.Close()
		p.b.Close()
	})
}

// Route picks the link an accepted connection travels on; nil forwards it
// without delay and without ever cutting it.
type Route func(c net.Conn) *Link

// Proxy accepts TCP connections on a listener and forwards each to a target
// address over the link its Route picks.
type Proxy struct {
	ln     net.Listener
	target string
	route  Route
	dialer net.Dialer
	direct *Link // connections route leaves alone
	wg     sync.WaitGroup
	mu     sync.Mutex
	open   map[net.Conn]struct{}
}

// Listen starts a proxy on addr that forwards to target. It serves until
// Close.
func Listen(addr, target string, route Route) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netem: listen for %s: %w", target, err)
	}
	p := &Proxy{ln: ln, target: target, route: route, dialer: net.Dialer{Timeout: 5 * time.Second}, direct: NewLink(0), open: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Close stops accepting, closes every forwarded connection and waits for
// them to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.open[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() {
			defer func() {
				c.Close()
				p.mu.Lock()
				delete(p.open, c)
				p.mu.Unlock()
			}()
			p.forward(c)
		})
	}
}

// forward dials the target for an accepted connection and carries the two
// over its link; a connection whose link is cut is closed at once.
func (p *Proxy) forward(c net.Conn) {
	var l *Link
	if p.route != nil {
		l = p.route(c)
	}
	if l == nil {
		l = p.direct
	}
	if l.IsCut() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.dialer.Timeout)
	defer cancel()
	t, err := p.dialer.DialContext(ctx, "tcp", p.target)
	if err != nil {
		return
	}
	l.Carry(c, t)
}
