package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
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
	wp := &watchPush{asJSON: asJSON, w: w, errw: errw}
	cfg := client.Config{URL: p.url, Pos: p.pos, OnDisconnect: func(err error, wait time.Duration, pos string) {
		wp.note(fmt.Sprintf("disconnected (%v); reconnecting in %s from %s", err, wait.Round(time.Millisecond), orNone(pos)))
	}}
	if p.channels != "" {
		cfg.Channels = strings.Split(p.channels, ",")
	}
	switch {
	case p.token != "":
		cfg.Token = client.StaticToken(p.token)
		if cfg.Channels == nil {
			cfg.Channels = concreteChannels(p.token)
		}
	case p.secret != "":
		m := push.Minter{Secret: []byte(p.secret), Audience: p.audience, Subject: "cachet-watch", TTL: watchPushTokenLife}
		cfg.Token = func(context.Context) (string, error) { return m.Mint(cfg.Channels) }
		cfg.RefreshEvery = watchPushTokenLife * 2 / 3
	default:
		return nil, usagef("cachet watch --push: need --token or --jwt-secret (env CACHET_PUSH_SECRET)")
	}
	if len(cfg.Channels) == 0 {
		return nil, usagef("cachet watch --push: need --channels (a token's wildcard patterns are not channels)")
	}
	for _, c := range cfg.Channels {
		if err := push.ValidChannel(c); err != nil {
			return nil, asUsage(err)
		}
	}
	wp.cfg = cfg
	return wp, nil
}

// run subscribes and prints until ctx ends or the server refuses for good;
// the client reconnects after transient closes, with backoff and jitter,
// resuming from the last position.
func (wp *watchPush) run(ctx context.Context) error {
	cl, err := client.New(wp.cfg)
	if err != nil {
		return err
	}
	err = cl.Run(ctx, wp.print)
	var ce *push.CloseError
	switch {
	case ctx.Err() != nil:
		return nil
	case errors.As(err, &ce):
		return fmt.Errorf("push server refused: %d %s: %s", int(ce.Code), ce.Code, ce.Message)
	}
	return err
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

// watchPush prints the frames of a push subscription.
type watchPush struct {
	cfg    client.Config
	asJSON bool
	w      io.Writer
	errw   io.Writer // where lost connections are reported
}

func orNone(pos string) string {
	if pos == "" {
		return "now (no position yet)"
	}
	return "position " + pos
}

// print writes one line for the frames a person watches: transitions,
// purges, advice, resets, welcomes and errors (pings and acks are left out).
func (wp *watchPush) print(f client.Frame) error {
	var latency time.Duration
	if tr := f.Transition; tr != nil && !tr.Timestamp.IsZero() {
		latency = time.Since(tr.Timestamp)
	}
	if wp.asJSON {
		switch f.Type {
		case push.TypePing, push.TypePong, push.TypeRefreshed:
			return nil
		}
		var obj map[string]any
		json.Unmarshal(f.Raw, &obj)
		if latency != 0 {
			obj["latencyMs"] = float64(latency.Microseconds()) / 1000
		}
		return json.NewEncoder(wp.w).Encode(obj)
	}
	var line string
	switch {
	case f.Transition != nil:
		tr := f.Transition
		line = fmt.Sprintf("%-12s %s  v%d %s  latency %s", f.Type, tr.Key, tr.Version, tr.State, latency.Round(time.Millisecond))
	case f.Purge != nil:
		g := f.Purge
		line = fmt.Sprintf("%-12s %s  generation %d  soft=%v", f.Type, g.Scope, g.Generation, g.Soft)
	case f.Advice != nil:
		a := f.Advice
		line = fmt.Sprintf("%-12s %s  %s  max-age %ds  pStale %.3f", f.Type, a.Key, a.Action, a.RecommendedMaxAge, a.PStale)
	case f.Reset != nil:
		line = fmt.Sprintf("%-12s %s: flush what is not proven fresh  at %s", f.Type, f.Reset.Reason, f.Reset.Pos)
	case f.Welcome != nil:
		line = fmt.Sprintf("%-12s resumed=%v at %s", f.Type, f.Welcome.Resumed, f.Welcome.Pos)
	case f.Error != nil:
		line = fmt.Sprintf("%-12s %d %s", f.Type, f.Error.Code, f.Error.Message)
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
