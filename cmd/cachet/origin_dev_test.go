package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/push"
)

// The dev service signs with the push service's --push-secret when one is
// defined in the same flag set, prints its origin, and is off with
// --origin-listen "".
func TestOriginDevService(t *testing.T) {
	for _, withPush := range []bool{false, true} {
		fs := pflag.NewFlagSet("dev", pflag.ContinueOnError)
		var pushSecret *string
		if withPush {
			pushSecret = fs.String("push-secret", "default", "")
			fs.String("push-listen", "127.0.0.1:8090", "")
		}
		run := setupOriginDev(fs)
		args := []string{"--origin-listen", "127.0.0.1:0", "--origin-sdk-dir", t.TempDir()}
		if pushSecret != nil {
			args = append(args, "--push-secret", "from-the-push-flag", "--push-listen", "127.0.0.1:18090")
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- run(ctx, devEnv{Log: slog.New(slog.DiscardHandler), Out: out}) }()
		re := regexp.MustCompile(`origin: demo on (http://127\.0\.0\.1:\d+)`)
		var url string
		for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				url = m[1]
			}
		}
		if url == "" {
			cancel()
			t.Fatalf("no origin line: %q", out.String())
		}
		res, err := http.Get(url + "/token")
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := io.ReadAll(res.Body)
		res.Body.Close()
		secret := devPushSecret
		if pushSecret != nil {
			secret = "from-the-push-flag"
		}
		v, _ := push.NewVerifier([]byte(secret), nil, "", "")
		claims, err := v.Verify(string(tok))
		if err != nil {
			t.Errorf("push flag %v: token not signed with %q: %v", withPush, secret, err)
		} else if !claims.Allows("origin:" + url) {
			t.Errorf("token channels %q miss origin:%s", claims.Channels, url)
		}
		var cfg struct{ PushURL string }
		if res, err := http.Get(url + "/config"); err != nil {
			t.Error(err)
		} else {
			json.NewDecoder(res.Body).Decode(&cfg)
			res.Body.Close()
		}
		wantPush := "ws://127.0.0.1:8090/ws"
		if withPush {
			wantPush = "ws://127.0.0.1:18090/ws"
		}
		if cfg.PushURL != wantPush {
			t.Errorf("push flags %v: the page is told push is at %q, want %q", withPush, cfg.PushURL, wantPush)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("origin stopped with %v", err)
		}
	}

	fs := pflag.NewFlagSet("dev", pflag.ContinueOnError)
	run := setupOriginDev(fs)
	if err := fs.Parse([]string{"--origin-listen", ""}); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), devEnv{Log: slog.New(slog.DiscardHandler), Out: io.Discard}); err != errDevOff {
		t.Errorf(`--origin-listen "": %v, want errDevOff`, err)
	}
}

func TestOriginPushURLFollowsPushListen(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"127.0.0.1:8090", "ws://127.0.0.1:8090/ws"},
		{":9000", "ws://127.0.0.1:9000/ws"},
		{"0.0.0.0:9000", "ws://127.0.0.1:9000/ws"},
		{"[::1]:9000", "ws://[::1]:9000/ws"},
		{"localhost:9000", "ws://localhost:9000/ws"},
		{"127.0.0.1:0", ""},
		{"", ""},
		{"nonsense", ""},
	}
	for _, c := range cases {
		if got := pushURLOf(c.addr); got != c.want {
			t.Errorf("pushURLOf(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// A taken default port leaves the demo off (the broker and the other
// daemons run on); a taken address asked for on the command line is an
// error.
func TestOriginDevPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	for _, explicit := range []bool{false, true} {
		fs := pflag.NewFlagSet("dev", pflag.ContinueOnError)
		run := setupOriginDev(fs)
		var args []string
		if explicit {
			args = []string{"--origin-listen", taken}
		} else if err := fs.Lookup("origin-listen").Value.Set(taken); err != nil { // as if it were the default
			t.Fatal(err)
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		out := &syncBuffer{}
		err := run(context.Background(), devEnv{Log: slog.New(slog.DiscardHandler), Out: out})
		if explicit && (err == nil || errors.Is(err, errDevOff)) {
			t.Errorf("--origin-listen %s (taken): %v, want the listen error", taken, err)
		}
		if !explicit && (!errors.Is(err, errDevOff) || !strings.Contains(out.String(), "in use")) {
			t.Errorf("default address taken: %v, %q; want errDevOff and a line saying so", err, out)
		}
	}
}

// Without the SDK bundle the demo origin says so at start, on the log.
func TestOriginDevWarnsWithoutSDK(t *testing.T) {
	for _, built := range []bool{false, true} {
		dir := t.TempDir()
		if built {
			os.WriteFile(filepath.Join(dir, "cachet.js"), []byte("export {}"), 0o644)
		}
		fs := pflag.NewFlagSet("dev", pflag.ContinueOnError)
		run := setupOriginDev(fs)
		if err := fs.Parse([]string{"--origin-listen", "127.0.0.1:0", "--origin-sdk-dir", dir}); err != nil {
			t.Fatal(err)
		}
		var log syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- run(ctx, devEnv{Log: slog.New(slog.NewTextHandler(&log, nil)), Out: out}) }()
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "origin: demo on") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		}
		cancel()
		<-done
		if warned := strings.Contains(log.String(), "SDK bundle is missing"); warned == built {
			t.Errorf("SDK built %v: log %q", built, log.String())
		}
	}
}
