package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
)

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestStartWaitsForKafka starts push before its broker exists: /healthz
// answers 503 with the reason and the client endpoints 503, until the
// broker comes up on that address; then the server runs and delivers.
func TestStartWaitsForKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	port := freePort(t)
	v, err := push.NewVerifier(secret, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := push.Start(ctx, push.Config{Kafka: kafka.Config{Brokers: fmt.Sprintf("127.0.0.1:%d", port), ClientID: "test-push"}, Verifier: v},
		push.StartConfig{MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, PingTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	hs := httptest.NewServer(st.Handler())
	t.Cleanup(hs.Close)

	eventually(t, "a 503 naming Kafka", func() bool {
		code, _, body := get(t, hs.URL+"/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "waiting for Kafka")
	})
	if code, h, _ := get(t, hs.URL+"/ws"); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("/ws before Kafka: %d, Retry-After %q; want 503 with Retry-After", code, h.Get("Retry-After"))
	}
	if srv, err := st.Server(); srv != nil || err != nil {
		t.Fatalf("Server() before Kafka: %v, %v", srv, err)
	}

	b, err := embedded.Start(ctx, embedded.WithPort(port), embedded.WithPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	eventually(t, "healthz 200", func() bool { code, _, _ := get(t, hs.URL+"/healthz"); return code == http.StatusOK })
	if srv, err := st.Server(); srv == nil || err != nil {
		t.Fatalf("Server() once ready: %v, %v", srv, err)
	}
	c := subscribe(t, "ws"+strings.TrimPrefix(hs.URL, "http"), "", "tag:x")
	if m := c.next(); m.T != "welcome" {
		t.Fatalf("first frame %+v, want welcome", m)
	}
	sent := newProducer(t, b).send("https://a.example/late", "x")
	if got := c.collect(1); got[0].Key != sent.Key || got[0].Version != sent.Version {
		t.Fatalf("delivered %+v, want %s@%d", got[0], sent.Key, sent.Version)
	}
}

// TestStartRefused: settings that cannot work fail Start at once; brokers
// that refuse the client (here: a TLS handshake with a broker whose
// certificate the client does not trust) end the start, and /healthz says
// why.
func TestStartRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := push.Start(ctx, push.Config{Kafka: kafka.Config{Brokers: "127.0.0.1:1"}}, push.StartConfig{}); !errors.As(err, new(*push.ConfigError)) {
		t.Fatalf("no verifier: %v, want a *push.ConfigError", err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	v, _ := push.NewVerifier(secret, nil, "", "")
	kc := kafka.Config{Brokers: cluster.ListenAddrs()[0], ClientID: "test-push", SecurityProtocol: kafka.SSL}
	st, err := push.Start(ctx, push.Config{Kafka: kc, Verifier: v}, push.StartConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	select {
	case <-st.Ready():
	case <-ctx.Done():
		t.Fatal("an untrusted broker certificate did not end the start")
	}
	_, err = st.Server()
	var se *push.StartError
	var ce *kafka.ConnectError
	if !errors.As(err, &se) || !errors.As(err, &ce) || !ce.Refused() {
		t.Fatalf("err = %v, want a *push.StartError with a refused *kafka.ConnectError", err)
	}
	hs := httptest.NewServer(st.Handler())
	defer hs.Close()
	if code, _, body := get(t, hs.URL+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not started") {
		t.Fatalf("healthz after a refused start: %d %q", code, body)
	}
}

// selfSigned is a P-256 certificate for 127.0.0.1 that no CA vouches for.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
