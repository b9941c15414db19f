package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/push"
)

// watchPushFlags are the flags of `cachet watch --push`.
type watchPushFlags struct {
	url, token, secret, audience, channels, pos string
}

func (p *watchPushFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.url, "url", envOr("CACHET_PUSH_URL", "ws://"+push.DefaultAddr+"/ws"), "push: server WebSocket URL (env CACHET_PUSH_URL)")
	fs.StringVar(&p.token, "token", getenv("CACHET_PUSH_TOKEN"), "push: token (JWT; env CACHET_PUSH_TOKEN)")
	fs.StringVar(&p.secret, "jwt-secret", getenv("CACHET_PUSH_SECRET"), "push: HS256 secret to mint short-lived tokens with when there is no --token (env CACHET_PUSH_SECRET)")
	fs.StringVar(&p.audience, "audience", push.DefaultAudience, "push: audience of minted tokens")
	fs.StringVar(&p.channels, "channels", "", "push: comma-separated channels (origin:https://shop.example,tag:catalog); default: the channels a --token names")
	fs.StringVar(&p.pos, "pos", "", "push: position to resume from (default: live from now)")
}

// watchPushTokenLife is how long a token minted with --jwt-secret lasts;
// the connection refreshes it at two thirds of that. (A variable so tests
// can shorten it.)
var watchPushTokenLife = 10 * time.Minute

// watcher checks the flags and returns the watch they describe: it
// subscribes to a push server, prints one line per transition (with its
// latency: now minus the transition's ledger time) and per advice frame,
// and after a disconnect resumes from the last position it received,
// saying so on errw.
func (p *watchPushFlags) watcher(asJSON bool, w, errw io.Writer) (*watchPush, error) {
	if u, err := url.Parse(p.url); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, usagef("--url %q: want a ws:// or wss:// URL with a host", p.url)
	}
	wp := &watchPush{url: p.url, pos: p.pos, asJSON: asJSON, w: w, errw: errw}
	if p.channels != "" {
		wp.channels = strings.Split(p.channels, ",")
	}
	switch {
	case p.token != "":
		tok := p.token
		wp.token = func() (string, error) { return tok, nil }
		if wp.channels == nil {
			wp.channels = concreteChannels(tok)
		}
	case p.secret != "":
		secret, audience := []byte(p.secret), p.audience
		wp.minted = true
		wp.token = func() (string, error) { return mintPushToken(secret, audience, wp.channels) }
	default:
		return nil, usagef("cachet watch --push: need --token or --jwt-secret (env CACHET_PUSH_SECRET)")
	}
	if len(wp.channels) == 0 {
		return nil, usagef("cachet watch --push: need --channels (a token's wildcard patterns are not channels)")
	}
	for _, c := range wp.channels {
		if err := push.ValidChannel(c); err != nil {
			return nil, asUsage(err)
		}
	}
	return wp, nil
}

// concreteChannels reads (without verifying) the channels a token allows
// that are channel names rather than patterns.
func concreteChannels(token string) []string {
	var c push.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return nil
	}
	var out []string
	for _, ch := range c.Channels {
		if !strings.HasSuffix(ch, "*") {
			out = append(out, ch)
		}
	}
	return out
}

func mintPushToken(secret []byte, audience string, channels []string) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, push.Claims{Channels: channels, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "cachet-watch", Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(watchPushTokenLife))}}).SignedString(secret)
}

type watchPush struct {
	url      string
	channels []string
	token    func() (string, error)
	minted   bool // token mints a fresh one each call
	pos      string
	asJSON   bool
	w        io.Writer
	errw     io.Writer // where lost connections are reported
}

// watchFrame is a server frame, decoded loosely for printing.
type watchFrame struct {
	T                 string    `json:"t"`
	Pos               string    `json:"pos"`
	Key               string    `json:"key"`
	Version           uint64    `json:"version"`
	State             string    `json:"state"`
	TS                time.Time `json:"ts"`
	Reason            string    `json:"reason"`
	Resumed           bool      `json:"resumed"`
	Code              int       `json:"code"`
	Message           string    `json:"message"`
	Action            string    `json:"action"`
	RecommendedMaxAge uint32    `json:"recommendedMaxAge"`
	PStale            float64   `json:"pStale"`
}

// run connects, prints, and reconnects with backoff and jitter after
// transient closes until ctx is done or the server refuses for good.
func (wp *watchPush) run(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		received, err := wp.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ce watchCloseError
		if errors.As(err, &ce) {
			code := push.CloseCode(ce.code)
			credentials := code >= 4100 && code < 4200
			switch {
			case credentials && wp.minted: // a fresh token is minted on reconnect
			case credentials, !code.Reconnect():
				return fmt.Errorf("push server refused: %d %s: %s", ce.code, code, ce.reason)
			}
		}
		if received {
			backoff = 500 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		wp.note(fmt.Sprintf("disconnected (%v); reconnecting in %s from %s", err, wait.Round(time.Millisecond), orNone(wp.pos)))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func orNone(pos string) string {
	if pos == "" {
		return "now (no position yet)"
	}
	return "position " + pos
}

type watchCloseError struct {
	code   int
	reason string
}

func (e watchCloseError) Error() string { return fmt.Sprintf("closed %d: %s", e.code, e.reason) }

// session runs one connection; received reports whether the server
// welcomed it.
func (wp *watchPush) session(ctx context.Context) (received bool, err error) {
	tok, err := wp.token()
	if err != nil {
		return false, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, _, err := websocket.Dial(dctx, wp.url, nil)
	cancel()
	if err != nil {
		return false, err
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	// batch: the server may put several frames in one message, one per line.
	hello, _ := json.Marshal(map[string]any{"t": "hello", "v": push.ProtocolVersion, "token": tok, "channels": wp.channels, "pos": wp.pos, "batch": true})
	if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
		return false, err
	}
	if wp.minted {
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go wp.refresh(sctx, c)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				var ce websocket.CloseError
				errors.As(err, &ce)
				return received, watchCloseError{code: int(code), reason: ce.Reason}
			}
			return received, err
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			var f watchFrame
			if err := json.Unmarshal(line, &f); err != nil {
				return received, fmt.Errorf("server sent a frame that is not JSON: %w", err)
			}
			if f.T == push.TypeWelcome {
				received = true
			}
			if f.Pos != "" {
				wp.pos = f.Pos
			}
			if err := wp.print(f, line); err != nil {
				return received, err
			}
		}
	}
}

// refresh sends a freshly minted token before the current one expires.
func (wp *watchPush) refresh(ctx context.Context, c *websocket.Conn) {
	t := time.NewTicker(watchPushTokenLife * 2 / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tok, err := wp.token()
			if err != nil {
				return
			}
			b, _ := json.Marshal(map[string]string{"t": push.TypeRefresh, "token": tok})
			if c.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		}
	}
}

// print writes one line for the frames a person watches: transitions,
// advice, resets, welcomes and errors (pings and acks are left out).
func (wp *watchPush) print(f watchFrame, raw []byte) error {
	var latency time.Duration
	if f.T == push.TypeTransition && !f.TS.IsZero() {
		latency = time.Since(f.TS)
	}
	if wp.asJSON {
		switch f.T {
		case push.TypePing, push.TypePong, push.TypeRefreshed:
			return nil
		}
		var obj map[string]any
		json.Unmarshal(raw, &obj)
		if f.T == push.TypeTransition && !f.TS.IsZero() {
			obj["latencyMs"] = float64(latency.Microseconds()) / 1000
		}
		return json.NewEncoder(wp.w).Encode(obj)
	}
	var line string
	switch f.T {
	case push.TypeTransition:
		line = fmt.Sprintf("%-12s %s  v%d %s  latency %s", f.T, f.Key, f.Version, f.State, latency.Round(time.Millisecond))
	case push.TypeAdvice:
		line = fmt.Sprintf("%-12s %s  %s  max-age %ds  pStale %.3f", f.T, f.Key, f.Action, f.RecommendedMaxAge, f.PStale)
	case push.TypeReset:
		line = fmt.Sprintf("%-12s %s: flush what is not proven fresh  at %s", f.T, f.Reason, f.Pos)
	case push.TypeWelcome:
		line = fmt.Sprintf("%-12s resumed=%v at %s", f.T, f.Resumed, f.Pos)
	case push.TypeError:
		line = fmt.Sprintf("%-12s %d %s", f.T, f.Code, f.Message)
	default:
		return nil
	}
	_, err := fmt.Fprintln(wp.w, line)
	return err
}

// note reports a lost or resumed connection on errw, whatever the output
// format: a watch never goes silent without saying why.
func (wp *watchPush) note(s string) {
	fmt.Fprintln(wp.errw, "cachet watch: "+s)
}
