package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cachetsync/cachet/push"
)

// TokenFunc supplies a token for the next connection or refresh. It is
// called before every connect, so a minting TokenFunc gives each reconnect
// a fresh token.
type TokenFunc func(ctx context.Context) (string, error)

// StaticToken is a TokenFunc that always returns tok: after a 41xx close
// (token expired) the client cannot reconnect with it and stops.
func StaticToken(tok string) TokenFunc {
	return func(context.Context) (string, error) { return tok, nil }
}

// Config configures a Client; URL, Channels and Token are required.
type Config struct {
	URL      string    // ws://host:port/ws
	Channels []string  // origin:<origin> or tag:<tag>
	Token    TokenFunc // called on every connect and refresh
	// Pos is the position to resume from; "" subscribes from now.
	Pos string
	// RefreshEvery, when positive, sends a fresh token on a live
	// connection this often (before the current one expires).
	RefreshEvery time.Duration
	// Backoff spaces reconnects; the zero value is the protocol's.
	Backoff Backoff
	// HandshakeTimeout bounds the dial and the wait for welcome
	// (default 10 s).
	HandshakeTimeout time.Duration
	// OnDisconnect, if set, is called after a transient disconnect with
	// its cause, the wait before the reconnect and the position it will
	// resume from.
	OnDisconnect func(err error, wait time.Duration, pos string)
}

// ConfigError reports a Config that cannot work.
type ConfigError struct{ Reason string }

func (e *ConfigError) Error() string { return "push client: " + e.Reason }

// Client keeps a subscription alive across disconnects.
type Client struct {
	cfg Config
	mu  sync.Mutex
	pos string
}

// New checks cfg and returns a Client; it connects in Run.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.URL == "":
		return nil, &ConfigError{"no URL"}
	case cfg.Token == nil:
		return nil, &ConfigError{"no Token"}
	case len(cfg.Channels) == 0:
		return nil, &ConfigError{"no channels"}
	}
	for _, ch := range cfg.Channels {
		if err := push.ValidChannel(ch); err != nil {
			return nil, err
		}
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	return &Client{cfg: cfg, pos: cfg.Pos}, nil
}

// Pos is the latest position received (Config.Pos before any): where the
// next connection resumes.
func (c *Client) Pos() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos
}

func (c *Client) setPos(p string) {
	c.mu.Lock()
	c.pos = p
	c.mu.Unlock()
}

// rateLimitedWait is how long the protocol asks a client closed with
// 4029 to stay away.
const rateLimitedWait = 30 * time.Second

// Run connects and calls handle with every frame (welcome, transition,
// reset, advice, ...) in order, resuming from the latest position after
// each transient disconnect. A reset frame means the server could not
// prove nothing was missed: handle flushes what it cannot prove fresh.
// Run returns ctx's error when ctx ends, handle's error when it fails, and
// a *push.CloseError when the server refuses for good (a terminal code, or
// a 41xx code when Token returns the refused token again).
func (c *Client) Run(ctx context.Context, handle func(Frame) error) error {
	attempt, next := 0, ""
	for {
		tok := next
		if tok == "" {
			var err error
			if tok, err = c.cfg.Token(ctx); err != nil {
				return fmt.Errorf("push client: token: %w", err)
			}
		}
		next = ""
		welcomed, err := c.session(ctx, tok, handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *handlerError
		if errors.As(err, &he) {
			return he.err
		}
		if welcomed {
			attempt = 0
		}
		wait := c.cfg.Backoff.Delay(attempt)
		var ce *push.CloseError
		if errors.As(err, &ce) {
			switch {
			case ce.Code >= 4100 && ce.Code < 4200: // credentials: only a new token helps
				fresh, terr := c.cfg.Token(ctx)
				if terr != nil || fresh == tok {
					return ce
				}
				next = fresh
			case !ce.Code.Reconnect():
				return ce
			case ce.Code == push.CodeRateLimited:
				wait = max(wait, rateLimitedWait)
			}
		}
		if c.cfg.OnDisconnect != nil {
			c.cfg.OnDisconnect(err, wait, c.Pos())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		attempt++
	}
}

// handlerError marks an error returned by Run's handler.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// session runs one connection; welcomed reports whether it got past hello.
func (c *Client) session(ctx context.Context, tok string, handle func(Frame) error) (welcomed bool, err error) {
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	conn, err := Dial(hctx, c.cfg.URL, push.ClientFrame{Token: tok, Channels: c.cfg.Channels, Pos: c.Pos()})
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.ws.CloseNow()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	if c.cfg.RefreshEvery > 0 {
		go c.refresh(sctx, conn)
	}
	if err := c.deliver(conn.welcome, handle); err != nil {
		return true, err
	}
	for {
		f, err := conn.Next(sctx)
		if err != nil {
			return true, err
		}
		if err := c.deliver(f, handle); err != nil {
			return true, err
		}
	}
}

func (c *Client) deliver(f Frame, handle func(Frame) error) error {
	if err := handle(f); err != nil {
		return &handlerError{err}
	}
	if f.Pos != "" {
		c.setPos(f.Pos)
	}
	return nil
}

// refresh sends a fresh token every RefreshEvery until ctx ends.
func (c *Client) refresh(ctx context.Context, conn *Conn) {
	t := time.NewTicker(c.cfg.RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tok, err := c.cfg.Token(ctx)
			if err != nil || conn.Refresh(ctx, tok) != nil {
				return
			}
		}
	}
}
