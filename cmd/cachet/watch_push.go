package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
)

func init() {
	watchSources["push"] = command{name: "push", summary: "follow a push server over WebSocket, as a browser does", run: runWatchPush}
}

// watchPushTokenLife is how long a token minted with --jwt-secret lasts;
// the connection refreshes it at two thirds of that, and each reconnect
// mints a fresh one. (A variable so tests
// can shorten it.)
var watchPushTokenLife = 10 * time.Minute

// runWatchPush is `cachet watch --push`: it subscribes to a push server,
// prints one line per transition (with its latency: now minus the
// transition's ledger time) and per advice frame, and after a disconnect
// resumes from the last position it received.
func runWatchPush(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cachet watch --push", flag.ContinueOnError)
	url := fs.String("url", envOr("CACHET_PUSH_URL", "ws://127.0.0.1:8090/ws"), "push server WebSocket URL (env CACHET_PUSH_URL)")
	tok := fs.String("token", os.Getenv("CACHET_PUSH_TOKEN"), "push token (JWT; env CACHET_PUSH_TOKEN)")
	secret := fs.String("jwt-secret", os.Getenv("CACHET_PUSH_SECRET"), "HS256 secret to mint short-lived tokens with when there is no --token (env CACHET_PUSH_SECRET)")
	audience := fs.String("audience", push.DefaultAudience, "audience of minted tokens")
	chans := fs.String("channels", "", "comma-separated channels (origin:https://shop.example,tag:catalog); default: the channels a --token names")
	pos := fs.String("pos", "", "position to resume from (default: live from now)")
	asJSON := fs.Bool("json", false, "print one JSON object per frame")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	wp := &watchPush{asJSON: *asJSON, w: w}
	cfg := client.Config{URL: *url, Pos: *pos, OnDisconnect: func(err error, wait time.Duration, pos string) {
		wp.note(fmt.Sprintf("disconnected (%v); reconnecting in %s from %s", err, wait.Round(time.Millisecond), orNone(pos)))
	}}
	if *chans != "" {
		cfg.Channels = strings.Split(*chans, ",")
	}
	switch {
	case *tok != "":
		cfg.Token = client.StaticToken(*tok)
		if cfg.Channels == nil {
			cfg.Channels = concreteChannels(*tok)
		}
	case *secret != "":
		m := push.Minter{Secret: []byte(*secret), Audience: *audience, Subject: "cachet-watch", TTL: watchPushTokenLife}
		cfg.Token = func(context.Context) (string, error) { return m.Mint(cfg.Channels) }
		cfg.RefreshEvery = watchPushTokenLife * 2 / 3
	default:
		return usageError{"cachet watch --push: need --token or --jwt-secret (env CACHET_PUSH_SECRET)"}
	}
	if len(cfg.Channels) == 0 {
		return usageError{"cachet watch --push: need --channels (a token's wildcard patterns are not channels)"}
	}
	for _, c := range cfg.Channels {
		if err := push.ValidChannel(c); err != nil {
			return usageError{err.Error()}
		}
	}
	cl, err := client.New(cfg)
	if err != nil {
		return err
	}
	// Run reconnects after transient closes, with backoff and jitter,
	// resuming from the last position, until ctx ends or the server
	// refuses for good.
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
	asJSON bool
	w      io.Writer
}

func orNone(pos string) string {
	if pos == "" {
		return "now (no position yet)"
	}
	return "position " + pos
}

// print writes one line for the frames a person watches: transitions,
// advice, resets, welcomes and errors (pings and acks are left out).
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

// note prints a comment line (text output only).
func (wp *watchPush) note(s string) {
	if !wp.asJSON {
		fmt.Fprintln(wp.w, "# "+s)
	}
}
