package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// badInputCases are command lines cachet must refuse with exit status 2
// before it sends anything; each message must name what was wrong.
func badInputCases(t *testing.T, conn []string) []struct {
	name string
	args []string
	msg  string
} {
	dir := t.TempDir()
	badLine := filepath.Join(dir, "keys.txt")
	os.WriteFile(badLine, []byte("https://shop.example/items/1\n# a comment\n\nftp://shop.example/x\n"), 0o644)
	longLine := filepath.Join(dir, "long.txt")
	os.WriteFile(longLine, []byte("ns:a\nns:b\n"+strings.Repeat("x", 3000)+"\n"), 0o644)
	long := "https://shop.example/" + strings.Repeat("a", 3000)
	with := func(a ...string) []string {
		return append(append([]string{}, a[:1]...), append(append([]string{}, conn...), a[1:]...)...)
	}
	return []struct {
		name string
		args []string
		msg  string
	}{
		{"empty key", with("publish", ""), `invalid cache key "": empty`},
		{"ftp key", with("invalidate", "ftp://shop.example/a"), "unsupported-scheme"},
		{"userinfo", with("get", "https://user:pw@shop.example/a"), "userinfo"},
		{"over-long key", with("purge", long), "too-long"},
		{"bad key among many", with("get", "ns:a", "http://shop.example:99999/"), "bad-port"},
		{"max-age beyond the contract", with("publish", "--max-age", "99999999999", "ns:a"), "--max-age 99999999999: at most 31536000"},
		{"page-size beyond the contract", with("invalidate-tag", "--page-size", "5000", "catalog"), "--page-size 5000: want 1 to 1000"},
		{"page-size zero", with("list", "--page-size", "0", "--tag", "catalog"), "--page-size 0"},
		{"page-size not a number", with("list", "--page-size", "lots", "--tag", "catalog"), `invalid argument "lots"`},
		{"missing KEY", with("publish"), "publish takes 1 KEY, got 0"},
		{"unknown flag", with("get", "--colour", "ns:a"), "unknown flag: --colour"},
		{"from-file bad line", with("invalidate", "--from-file", badLine), "keys.txt:4: invalid cache key"},
		{"from-file over-long line", with("invalidate", "--from-file", longLine), "long.txt:3: line longer than"},
		{"from-file missing", with("invalidate", "--from-file", filepath.Join(dir, "none.txt")), "none.txt: no such file"},
		{"expect with many keys", with("invalidate", "--expect", "2", "ns:a", "ns:b"), "--expect goes with one KEY"},
		{"reason too long", with("invalidate", "--reason", strings.Repeat("r", 300), "ns:a"), "--reason: 300 bytes, at most 256"},
		{"log format", with("relay", "--log-format", "xml"), `--log-format "xml": want text or json`},
		{"two scopes", with("purge", "--tag", "a", "--host", "shop.example"), "give exactly one of --tag, --prefix, --host, --origin"},
		{"scope and KEY", with("purge", "--tag", "a", "ns:x"), `a scope purge takes no KEY (got "ns:x")`},
		{"neither scope nor KEY", with("purge"), "purge takes a KEY or one of"},
		{"soft key purge", with("purge", "--soft", "ns:a"), "--soft goes with a scope purge"},
		{"expect with a scope", with("purge", "--expect", "3", "--tag", "a"), "--expect goes with a KEY"},
		{"bad tag", with("purge", "--tag", "Bad!"), "--tag: invalid cache key \"Bad!\": bad-tag"},
		{"prefix with a query", with("purge", "--prefix", "https://shop.example/a/?x=1"), "a prefix has no query"},
		{"prefix not http", with("purge", "--prefix", "ftp://shop.example/a/"), "unsupported-scheme"},
		{"prefix not a folder", with("purge", "--prefix", "https://shop.example/a"), "a prefix scope ends in '/'"},
		{"bad host", with("purge", "--host", "a%20b"), `--host: invalid host "a%20b": forbidden-code-point`},
		{"origin with a path", with("purge", "--origin", "https://shop.example/p"), "an origin is scheme://host[:port], no path"},
		{"scope reason too long", with("purge", "--tag", "a", "--reason", strings.Repeat("r", 300)), "--reason: 300 bytes"},
		{"idempotency key not ASCII", with("purge", "--tag", "a", "--idempotency-key", "\u00e9t\u00e9"), "--idempotency-key: printable ASCII only"},
		{"soft from file", with("invalidate", "--soft", "--failed-to", "f.txt", "ns:a"), "--soft goes with KEY arguments"},
		{"claim a URL", with("claim-host", "https://shop.example/"), "forbidden-code-point"},
		{"release two hosts", with("release-host", "a", "b"), "release-host takes 1 HOST, got 2"},
		{"api log format", with("api", "--log-format", "xml"), `--log-format "xml": want text or json`},
		{"api submit timeout", with("api", "--submit-timeout", "0s"), "--submit-timeout 0s: want a positive duration"},
	}
}

// A listener that counts connections stands in for a peer: a refused
// command line must not reach it.
func countingPeer(t *testing.T) (addr string, accepted *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func TestBadInputIsRefusedLocally(t *testing.T) {
	peer, accepted := countingPeer(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("not a certificate"), 0o600)
	for _, conn := range [][]string{
		{"--peers", peer, "--tls-ca", ca, "--msp-id", "Org1MSP", "--msp-dir", t.TempDir()},
		{"--config", filepath.Join(t.TempDir(), "unreadable.json")}, // the input's error wins over the profile's
	} {
		for _, tc := range badInputCases(t, conn) {
			t.Run(tc.name, func(t *testing.T) {
				out, errOut, code := runCachet(t, tc.args...)
				if code != exitUsage || !strings.Contains(errOut, tc.msg) || out != "" {
					t.Errorf("cachet %.120q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.msg)
				}
			})
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Errorf("the peer was dialled %d times for command lines that were refused", n)
	}
}

func TestBadConnectionSettings(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.json")
	os.WriteFile(foreign, []byte(`{"name":"not a connection profile"}`), 0o600)
	garbled := filepath.Join(dir, "garbled.json")
	os.WriteFile(garbled, []byte(`{"peers":[`), 0o600)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"get", "--config", filepath.Join(dir, "none.json"), "ns:a"}, "gateway config profile: open"},
		{[]string{"get", "--config", foreign, "ns:a"}, "lists no peers"},
		{[]string{"get", "--config", garbled, "ns:a"}, "gateway config profile: unexpected end of JSON"},
		{[]string{"get", "--peers", "127.0.0.1:1", "ns:a"}, "--peers needs --tls-ca"},
		{[]string{"get", "ns:a"}, "no peers: pass --config"},
		{[]string{"watch", "--push", "--url", "http://127.0.0.1:8090/ws", "--jwt-secret", "s", "--channels", "tag:a"}, `--url "http://127.0.0.1:8090/ws": want a ws:// or wss:// URL`},
		{[]string{"watch", "--push", "--url", "ws://", "--jwt-secret", "s", "--channels", "tag:a"}, `want a ws:// or wss:// URL with a host`},
		{[]string{"watch", "--kafka", "--kafka-security-protocol", "carrier-pigeon"}, "kafka config"},
		{[]string{"analytics", "top", "-n", "0"}, "-n 0: want at least 1"},
		{[]string{"analytics", "nonsense"}, `unknown command "nonsense"`},
		{[]string{"push", "--log-level", "loud"}, `invalid argument "loud" for "--log-level"`},
		{[]string{"push", "--max-conns", "0", "--jwt-secret", "s"}, "--max-conns 0: want at least 1"},
		{[]string{"dev", "--port", "70000"}, "--port 70000: want 0 to 65535"},
	} {
		t.Setenv("CACHET_CONFIG", "")
		t.Setenv("CACHET_PEERS", "")
		out, errOut, code := runCachet(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.msg) || out != "" {
			t.Errorf("cachet %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.msg)
		}
	}
}

// The token commands refuse bad scopes, rates and expiries with exit 2
// and leave the store as it was (here: not created).
func TestTokenBadInput(t *testing.T) {
	store := filepath.Join(t.TempDir(), "tokens.json")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"create"}, "token create needs --scope"},
		{[]string{"create", "--scope", "bogus:x"}, `--scope: scope "bogus:x": unknown-kind`},
		{[]string{"create", "--scope", "purge:nothing"}, "unknown-purge-kind"},
		{[]string{"create", "--scope", "prefix:ftp://x/"}, "unsupported-scheme"},
		{[]string{"create", "--scope", "purge:tags, read"}, "--scope"},
		{[]string{"create", "--scope", "purge:tags", "--rate", "fast"}, `--rate: rate "fast"`},
		{[]string{"create", "--scope", "purge:tags", "--rate", "0/s"}, "--rate"},
		{[]string{"create", "--scope", "purge:tags", "--expires", "-1h"}, "--expires -1h0m0s: want 0 (never) or a positive duration"},
		{[]string{"create", "--scope", "purge:tags", "extra"}, "takes 0 arguments"},
		{[]string{"revoke", "0123456789abcdef"}, "token 0123456789abcdef unknown"},
		{[]string{"revoke"}, "takes 1 ID, got 0"},
	} {
		args := append(append([]string{"api", "token"}, tc.args...), "--tokens", store)
		out, errOut, code := runCachet(t, args...)
		if code != exitUsage || !strings.Contains(errOut, tc.msg) || out != "" {
			t.Errorf("cachet %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, errOut, tc.msg)
		}
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("refused commands wrote the store: %v", err)
	}
}

// A token is created (its secret shown once), listed without its secret and
// hash, and revoked; it stays listed.
func TestTokenLifecycle(t *testing.T) {
	store := filepath.Join(t.TempDir(), "tokens.json")
	out, errOut, code := runCachet(t, "api", "token", "create", "--tokens", store, "--json", "--name", "deploy",
		"--scope", "purge:tags,prefix:HTTPS://Shop.Example/assets/", "--expires", "720h", "--rate", "50/s")
	var created struct {
		Token, ID string
		Scopes    []string
	}
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("create: exit %d, %q %q", code, out, errOut)
	}
	if !strings.HasPrefix(created.Token, "cachet_"+created.ID+"_") || len(created.Scopes) != 2 || created.Scopes[1] != "prefix:https://shop.example/assets/" {
		t.Fatalf("created %+v", created)
	}
	out, _, code = runCachet(t, "api", "token", "list", "--tokens", store)
	secret := strings.TrimPrefix(created.Token, "cachet_"+created.ID+"_")
	if code != 0 || !strings.Contains(out, created.ID) || !strings.Contains(out, "rate 50/s") || !strings.Contains(out, "expires ") || strings.Contains(out, secret) {
		t.Fatalf("list: exit %d, %q", code, out)
	}
	if _, errOut, code := runCachet(t, "api", "token", "revoke", "--tokens", store, created.ID); code != 0 {
		t.Fatalf("revoke: exit %d %s", code, errOut)
	}
	out, _, _ = runCachet(t, "api", "token", "list", "--tokens", store, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["revokedAt"] == nil || list[0]["sha256"] != "" {
		t.Fatalf("list after revoke: %q (%v)", out, err)
	}
}

// Under --json an error is one JSON object on stderr.
func TestJSONErrors(t *testing.T) {
	_, errOut, code := runCachet(t, "get", "--json", "--peers", "127.0.0.1:1", "--tls-ca", "x", "ftp://a/b")
	var e struct {
		Code, Message string
		Exit          int
	}
	if err := json.Unmarshal([]byte(errOut), &e); err != nil || code != exitUsage || e.Code != "INVALID_KEY" || e.Exit != exitUsage || !strings.Contains(e.Message, "unsupported-scheme") {
		t.Fatalf("exit %d, stderr %q (%v); want a JSON error object", code, errOut, err)
	}
}
