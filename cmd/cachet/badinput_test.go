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
