//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/audit"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// The purge API daemon on the real network: the built `cachet api` with
// org1 publisher's identity and a token store written by `cachet api token
// create`, driven by a stock net/http client (and curl when present).
func TestPurgeAPIDaemon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := cachetBinary(t)
	dir := t.TempDir()
	admin, pub, aud := client(t, "org1", "admin"), client(t, "org1", "publisher"), client(t, "org1", "auditor")
	const host = "shop.example"
	if c, _, err := admin.ClaimHost(ctx, host); err != nil || c.Owner != "Org1MSP" {
		t.Fatalf("claim %s: %+v %v", host, c, err)
	}
	publish := func(key string, tags ...string) {
		t.Helper()
		if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: key, ETag: `"v1"`, MaxAge: 60, Tags: tags}); err != nil {
			t.Fatalf("publish %s: %v", key, err)
		}
	}
	const (
		app     = "https://shop.example/assets/app.js"
		css     = "https://shop.example/assets/css/site.css"
		outside = "https://shop.example/cart"
	)
	for _, k := range []string{app, css, outside} {
		publish(k)
	}

	tokens := filepath.Join(dir, "tokens.json")
	newToken := func(scope string) string {
		t.Helper()
		out, err := exec.Command(bin, "api", "token", "create", "--tokens", tokens, "--scope", scope, "--expires", "1h", "--rate", "100/s", "--json").Output()
		var tok struct{ Token string }
		if err != nil || json.Unmarshal(out, &tok) != nil || tok.Token == "" {
			t.Fatalf("token create %s: %v %s", scope, err, out)
		}
		return tok.Token
	}
	prefixTok := newToken("prefix:https://shop.example/assets/")
	tagsTok := newToken("purge:tags")

	prof, err := network("profile", "org1", "publisher")
	if err != nil {
		t.Fatalf("profile: %v %s", err, prof)
	}
	profPath := filepath.Join(dir, "publisher.json")
	os.WriteFile(profPath, []byte(prof), 0o600)
	apiAddr, opsAddr := freeAddr(t), freeAddr(t)
	daemon := exec.Command(bin, "api", "--config", profPath, "--tokens", tokens, "--listen", apiAddr, "--metrics-listen", opsAddr, "--log-format", "json")
	var logs bytes.Buffer
	daemon.Stdout, daemon.Stderr = &logs, &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- daemon.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("cachet api exited with %v after SIGINT\n%s", err, logs.String())
			}
		case <-time.After(40 * time.Second):
			daemon.Process.Kill()
			t.Errorf("cachet api did not stop on SIGINT\n%s", logs.String())
		}
	})
	base := "http://" + apiAddr
	waitHTTP(t, base+"/v1/openapi.json", &logs)
	if code, _ := apiDo(t, "GET", "http://"+opsAddr+"/healthz", "", ""); code != 200 {
		t.Fatalf("/healthz answered %d", code)
	}

	type result struct {
		TxID  string `json:"txId"`
		Block uint64 `json:"block"`
		Code  string `json:"code"`
	}
	purge := func(token, body string) (int, result) {
		t.Helper()
		code, b := apiDo(t, "POST", base+"/v1/purge", token, body)
		var r result
		json.Unmarshal(b, &r)
		t.Logf("POST /v1/purge %s → %d %s", body, code, bytes.TrimSpace(b))
		return code, r
	}
	effective := func(key string) ledger.Entry {
		t.Helper()
		code, b := apiDo(t, "GET", base+"/v1/entries/"+url.PathEscape(key), prefixTok, "")
		var e ledger.Entry
		if code != 200 || json.Unmarshal(b, &e) != nil || e.Effective == nil {
			t.Fatalf("GET entry %s: %d %s", key, code, b)
		}
		return e
	}
	txID := regexp.MustCompile(`^[0-9a-f]{64}$`)

	// A prefix purge by the prefix token: one transaction; everything under
	// the prefix is effectively INVALIDATED, the key outside untouched.
	code, r := purge(prefixTok, `{"prefixes":["https://shop.example/assets/"],"reason":"deploy"}`)
	if code != 200 || !txID.MatchString(r.TxID) || r.Block == 0 {
		t.Fatalf("prefix purge: %d %+v", code, r)
	}
	for _, k := range []string{app, css} {
		if e := effective(k); e.Effective.State != "INVALIDATED" || e.Effective.Purge == nil || e.Effective.Purge.TxID != r.TxID {
			t.Errorf("%s after the prefix purge: %+v %+v", k, e.Effective, e.Effective.Purge)
		}
	}
	if e, err := aud.Get(ctx, outside); err != nil || e.Effective == nil || e.Effective.State != "VALID" {
		t.Errorf("%s outside the prefix: %+v %v", outside, e, err)
	}

	// The prefix token may not purge another prefix.
	if code, r := purge(prefixTok, `{"prefixes":["https://shop.example/"]}`); code != 403 || r.Code != "out_of_scope" || r.TxID != "" {
		t.Errorf("prefix token on another prefix: %d %+v", code, r)
	}

	// The tags token purges a tag.
	const tagged = "https://shop.example/assets/tagged.js"
	publish(tagged, "api-e2e-tag")
	code, tagPurge := purge(tagsTok, `{"tags":["api-e2e-tag"]}`)
	if code != 200 || !txID.MatchString(tagPurge.TxID) {
		t.Errorf("tag purge: %d %+v", code, tagPurge)
	}
	if e := effective(tagged); e.Effective.State != "INVALIDATED" {
		t.Errorf("%s after its tag's purge: %+v", tagged, e.Effective)
	}

	// The key's audit trail names the purge, its scope and the API token
	// that asked for it; the transaction's status is read from its block.
	code, b := apiDo(t, "GET", base+"/v1/history/"+url.PathEscape(tagged), prefixTok, "")
	var trail []audit.Record
	if code != 200 || json.Unmarshal(b, &trail) != nil || len(trail) < 2 {
		t.Fatalf("GET history %s: %d %s", tagged, code, b)
	}
	last := trail[len(trail)-1]
	if tokenID := strings.Split(tagsTok, "_")[1]; last.TxID != tagPurge.TxID || last.Scope != "tag:api-e2e-tag" || last.TokenID != tokenID ||
		last.Op != ledger.OpPurge || last.Submitter.Org != "Org1MSP" || len(last.Endorsers) == 0 || trail[0].Op != ledger.OpPublish {
		t.Errorf("history of %s ends with %+v, want the tag purge by token %s", tagged, last, tokenID)
	}
	code, b = apiDo(t, "GET", base+"/v1/tx/"+tagPurge.TxID, prefixTok, "")
	var st struct {
		State          string `json:"state"`
		Block          uint64 `json:"block"`
		ValidationCode string `json:"validationCode"`
	}
	if code != 200 || json.Unmarshal(b, &st) != nil || st.State != "committed" || st.Block != tagPurge.Block || st.ValidationCode != "VALID" {
		t.Errorf("GET tx %s: %d %s", tagPurge.TxID, code, b)
	}
	code, b = apiDo(t, "GET", base+"/v1/tx/"+strings.Repeat("ab", 32), prefixTok, "")
	if code != 200 || json.Unmarshal(b, &st) != nil || st.State != "unknown" {
		t.Errorf("GET tx of a transaction never sent: %d %s", code, b)
	}

	// Refusals that send nothing.
	if code, r := purge("cachet_0123456789abcdef_"+strings.Repeat("A", 43), `{"tags":["x"]}`); code != 401 || r.Code != "unauthenticated" {
		t.Errorf("unknown token: %d %+v", code, r)
	}
	if code, r := purge(tagsTok, `{"tags":["x"`); code != 400 || r.Code != "malformed_json" {
		t.Errorf("malformed JSON: %d %+v", code, r)
	}

	// A soft purge leaves the entry STALE.
	const v2 = "https://shop.example/assets/v2/app.js"
	publish(v2)
	if e := effective(v2); e.Effective.State != "VALID" {
		t.Fatalf("%s published after the prefix purge: %+v", v2, e.Effective)
	}
	if code, r := purge(prefixTok, `{"prefixes":["https://shop.example/assets/v2/"],"soft":true}`); code != 200 || !txID.MatchString(r.TxID) {
		t.Fatalf("soft prefix purge: %d %+v", code, r)
	}
	if e := effective(v2); e.Effective.State != "STALE" || e.Effective.Purge == nil || !e.Effective.Purge.Soft {
		t.Errorf("%s after the soft purge: %+v", v2, e.Effective)
	}

	// The same API from curl.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Logf("curl step not run: curl is not installed (%v)", err)
		return
	}
	out, err := exec.CommandContext(ctx, curl, "-sS", "-X", "POST", base+"/v1/purge", "-H", "Authorization: Bearer "+tagsTok,
		"-H", "Content-Type: application/json", "-H", "Idempotency-Key: curl-e2e-1", "-d", `{"tags":["api-e2e-curl"]}`, "-w", `\n%{http_code}`).Output()
	body, status, _ := strings.Cut(strings.TrimSpace(string(out)), "\n\n")
	if err != nil || status != "200" || json.Unmarshal([]byte(body), &r) != nil || !txID.MatchString(r.TxID) {
		t.Errorf("curl: %v %q", err, out)
	}
	t.Logf("curl → %s", out)
}

func waitHTTP(t *testing.T, u string, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200\n%s", u, logs.String())
}

// apiDo sends one request with a stock client and returns its status and body.
func apiDo(t *testing.T, method, u, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
