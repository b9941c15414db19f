//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// page is one tab of a headless Chromium driven over the DevTools
// protocol: enough to evaluate a script in the page and read its value.
type page struct {
	conn *websocket.Conn
	next atomic.Int64
}

// openPage starts headless Chromium on url and attaches to its tab; the
// browser stops when the test ends.
func openPage(tb testing.TB, ctx context.Context, url string) *page {
	tb.Helper()
	if _, err := os.Stat(chromium); err != nil {
		tb.Fatalf("%s missing (make chromium installs it): %v", chromium, err)
	}
	debug := freeAddr(tb)
	var port string
	fmt.Sscanf(debug, "127.0.0.1:%s", &port)
	browser := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+tb.TempDir(), "--remote-debugging-port="+port, url)
	log, _ := os.Create(filepath.Join(tb.TempDir(), "chromium.log"))
	browser.Stdout, browser.Stderr = log, log
	if err := browser.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { browser.Process.Kill(); browser.Wait() })
	var ws string
	for deadline := time.Now().Add(30 * time.Second); ws == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("Chromium's DevTools endpoint never listed the page")
		}
		resp, err := http.Get("http://" + debug + "/json/list")
		if err != nil {
			continue
		}
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		json.NewDecoder(resp.Body).Decode(&targets)
		resp.Body.Close()
		for _, t := range targets {
			if t.Type == "page" && t.WebSocketDebuggerURL != "" {
				ws = t.WebSocketDebuggerURL
			}
		}
	}
	conn, _, err := websocket.Dial(ctx, ws, nil)
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetReadLimit(16 << 20)
	tb.Cleanup(func() { conn.CloseNow() })
	return &page{conn: conn}
}

// eval evaluates expression in the page, awaiting a promise, and decodes
// its JSON value into out (when not nil).
func (p *page) eval(ctx context.Context, expression string, out any) error {
	id := p.next.Add(1)
	req := map[string]any{"id": id, "method": "Runtime.evaluate", "params": map[string]any{
		"expression": expression, "awaitPromise": true, "returnByValue": true}}
	if err := wsjson.Write(ctx, p.conn, req); err != nil {
		return err
	}
	for {
		var resp struct {
			ID     int64 `json:"id"`
			Result struct {
				Result struct {
					Value json.RawMessage `json:"value"`
				} `json:"result"`
				ExceptionDetails *struct {
					Text      string `json:"text"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
			} `json:"result"`
			Error *struct{ Message string } `json:"error"`
		}
		if err := wsjson.Read(ctx, p.conn, &resp); err != nil {
			return err
		}
		if resp.ID != id {
			continue // an event
		}
		switch {
		case resp.Error != nil:
			return fmt.Errorf("devtools: %s", resp.Error.Message)
		case resp.Result.ExceptionDetails != nil:
			return fmt.Errorf("page: %s %s", resp.Result.ExceptionDetails.Text, resp.Result.ExceptionDetails.Exception.Description)
		case out != nil:
			return json.Unmarshal(resp.Result.Result.Value, out)
		}
		return nil
	}
}
