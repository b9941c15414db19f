package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// centrifugoTopic carries Centrifugo publish commands, one per
// invalidation, with the same transition JSON as data.
const centrifugoTopic = "cachet.centrifugo"

// serverProc is a server under test running in its own process, so that
// its resident memory is its own.
type serverProc struct {
	name string
	cmd  *exec.Cmd
	url  string // WebSocket endpoint
	log  string // file with its output
}

// serverSpec says how to start one server under test.
type serverSpec struct {
	target  string
	bin     string
	dir     string // for its config and log
	brokers string
	secret  string
	conns   int
	extra   []string // more flags
}

// startServer starts the target and waits until it answers its health
// check.
func startServer(ctx context.Context, s serverSpec) (*serverProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var args []string
	var health, url string
	switch s.target {
	case "push":
		// Connections come from a few loopback addresses, so the per-IP
		// limit is raised to the whole bench.
		args = append([]string{"push", "--brokers", s.brokers, "--listen", addr, "--jwt-secret", s.secret,
			"--max-conns-per-ip", strconv.Itoa(s.conns), "--max-conns", strconv.Itoa(s.conns + 100)}, s.extra...)
		health, url = "http://"+addr+"/healthz", "ws://"+addr+"/ws"
	case "centrifugo":
		cfg := filepath.Join(s.dir, "centrifugo.json")
		if err := writeCentrifugoConfig(cfg, port, s.brokers, s.secret); err != nil {
			return nil, err
		}
		args = append([]string{"--config", cfg}, s.extra...)
		health, url = "http://"+addr+"/health", "ws://"+addr+"/connection/websocket"
	default:
		return nil, fmt.Errorf("unknown target %q", s.target)
	}
	logPath := filepath.Join(s.dir, s.target+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	bin := s.bin
	if strings.ContainsRune(bin, '/') {
		if bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.target, err)
	}
	p := &serverProc{name: s.target, cmd: cmd, url: url, log: logPath}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("%s exited before it was healthy (%v): %s", s.target, err, tail(logPath))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not healthy after a minute: %s", s.target, tail(logPath))
		}
	}
}

// stop ends the server: SIGTERM, then SIGKILL if it is still there after
// 10 s.
func (p *serverProc) stop() {
	pid := p.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func alive(pid int) bool {
	// A zombie still answers signal 0; its status line says Z.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// rss returns the server's resident set size in bytes (VmRSS).
func (p *serverProc) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// writeCentrifugoConfig writes a Centrifugo config equivalent to the push
// server's: HS256 connection tokens whose channels claim subscribes the
// connection on the server side, the origin namespace, and the built-in
// Kafka consumer reading publish commands from centrifugoTopic.
func writeCentrifugoConfig(path string, port int, brokers, secret string) error {
	cfg := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "error"},
		"health":      map[string]any{"enabled": true},
		"client": map[string]any{
			"token":           map[string]any{"hmac_secret_key": secret},
			"allowed_origins": []string{"*"},
		},
		"channel": map[string]any{"namespaces": []map[string]any{{"name": "origin"}}},
		"consumers": []map[string]any{{
			"name": "cachet", "enabled": true, "type": "kafka",
			"kafka": map[string]any{
				"brokers": strings.Split(brokers, ","), "topics": []string{centrifugoTopic},
				"consumer_group": "centrifugo-pushload",
			},
		}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
