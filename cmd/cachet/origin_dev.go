package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/demo"
	"github.com/cachetsync/cachet/push"
)

func originDevService() devService { return devService{name: "origin", setup: setupOriginDev} }

// setupOriginDev defines the demo origin's flags. It signs tokens with the
// push service's --push-secret, looked up in the same flag set after
// parsing, so the two always agree.
func setupOriginDev(fs *pflag.FlagSet) func(ctx context.Context, env devEnv) error {
	listen := fs.String("origin-listen", demo.DefaultAddr, `demo origin (SDK demo page, /token, /items/<n>) address; "" = off`)
	pushURL := fs.String("origin-push-url", pushURLOf(push.DefaultAddr), "push server URL the demo page connects to (default: the push service's --push-listen)")
	sdkDir := fs.String("origin-sdk-dir", "./sdk/dist", "the SDK's build folder (make sdk)")
	return func(ctx context.Context, env devEnv) error {
		if *listen == "" {
			return errDevOff
		}
		secret := devPushSecret // when no push service defines --push-secret
		if f := fs.Lookup("push-secret"); f != nil {
			secret = f.Value.String()
		}
		if f := fs.Lookup("push-listen"); f != nil && !flagChanged(fs, "origin-push-url") {
			if u := pushURLOf(f.Value.String()); u != "" {
				*pushURL = u
			}
		}
		if _, err := os.Stat(filepath.Join(*sdkDir, "cachet.js")); err != nil {
			warnNoSDK(env, *sdkDir)
		}
		ln, err := devListen(fs, "origin", *listen, env.Out)
		if err != nil {
			return err
		}
		return runOrigin(ctx, env, ln, demo.OriginConfig{PushURL: *pushURL, SDKDir: *sdkDir, Secret: []byte(secret)})
	}
}

// warnNoSDK says at start, on stderr, that the demo pages cannot load
// before the SDK is built, rather than leaving it to 404s in a browser.
func warnNoSDK(env devEnv, dir string) {
	env.Log.Warn("the SDK bundle is missing: the demo pages will not load until it is built (make sdk)",
		"service", "origin", "dir", dir, "want", filepath.Join(dir, "cachet.js"))
}

// pushURLOf is the WebSocket URL a page on this machine uses for a push
// server listening on addr, or "" when addr names no fixed port.
func pushURLOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "ws://" + net.JoinHostPort(host, port) + "/ws"
}

// runOrigin serves the demo origin on ln until ctx is done.
func runOrigin(ctx context.Context, env devEnv, ln net.Listener, cfg demo.OriginConfig) error {
	var err error
	cfg.Origin = "http://" + pageHost(ln.Addr().(*net.TCPAddr))
	hs := &http.Server{Handler: demo.NewOrigin(cfg), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.Out, "origin: demo on %s (development only: /token gives push tokens to anyone)\n", cfg.Origin)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// pageHost is the host:port a browser on this machine uses for a listener:
// the loopback address when it listens on every interface.
func pageHost(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}
