package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
)

// pemFile writes a file the security settings can name.
func pemFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSecurityValidation(t *testing.T) {
	ca, cert, key := pemFile(t, "ca.pem"), pemFile(t, "cert.pem"), pemFile(t, "key.pem")
	sasl := func(p kafka.SecurityProtocol, m kafka.SASLMechanism) kafka.Config {
		return kafka.Config{Brokers: "b:9092", SecurityProtocol: p, SASLMechanism: m, SASLUsername: "u", SASLPassword: "secret-pw"}
	}
	for _, tc := range []struct {
		name  string
		cfg   kafka.Config
		field string // "" when valid
	}{
		{"plaintext by default", kafka.Config{Brokers: "b:9092"}, ""},
		{"ssl with the system roots", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SSL}, ""},
		{"ssl with a CA and a client certificate", kafka.Config{Brokers: "b:9092", SecurityProtocol: "SSL", TLSCAFile: ca, TLSCertFile: cert, TLSKeyFile: key}, ""},
		{"sasl_ssl scram-512", sasl(kafka.SASLSSL, kafka.ScramSHA512), ""},
		{"sasl_plaintext plain, any case", sasl("SASL_PLAINTEXT", "plain"), ""},
		{"mechanism of its own in Extra", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SASLSSL, Extra: kafka.ConfigMap{"sasl.mechanisms": "OAUTHBEARER"}}, ""},
		{"unknown protocol", kafka.Config{Brokers: "b:9092", SecurityProtocol: "tls"}, "security.protocol"},
		{"unknown mechanism", sasl(kafka.SASLSSL, "GSSAPI"), "sasl.mechanism"},
		{"sasl settings on plaintext", sasl("", kafka.Plain), "security.protocol"},
		{"sasl settings on ssl", sasl(kafka.SSL, kafka.Plain), "security.protocol"},
		{"sasl without a mechanism", sasl(kafka.SASLSSL, ""), "sasl.mechanism"},
		{"sasl without a username", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SASLSSL, SASLMechanism: kafka.Plain, SASLPassword: "p"}, "sasl.username"},
		{"sasl without a password", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SASLSSL, SASLMechanism: kafka.Plain, SASLUsername: "u"}, "sasl.password"},
		{"CA on plaintext", kafka.Config{Brokers: "b:9092", TLSCAFile: ca}, "ssl.ca.location"},
		{"CA on sasl_plaintext", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SASLPlaintext, SASLMechanism: kafka.Plain, SASLUsername: "u", SASLPassword: "p", TLSCAFile: ca}, "ssl.ca.location"},
		{"missing CA file", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SSL, TLSCAFile: filepath.Join(t.TempDir(), "none.pem")}, "ssl.ca.location"},
		{"CA is a folder", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SSL, TLSCAFile: t.TempDir()}, "ssl.ca.location"},
		{"certificate without key", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SSL, TLSCertFile: cert}, "ssl.certificate.location"},
		{"key without certificate", kafka.Config{Brokers: "b:9092", SecurityProtocol: kafka.SSL, TLSKeyFile: key}, "ssl.certificate.location"},
		{"no brokers comes first", kafka.Config{SecurityProtocol: "tls"}, "brokers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.ProducerConfig("")
			var ce *kafka.ConfigError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tc.field != "" && (!errors.As(err, &ce) || ce.Field != tc.field):
				t.Fatalf("err = %v, want ConfigError on %s", err, tc.field)
			case err != nil && strings.Contains(err.Error(), "secret-pw"):
				t.Fatalf("err %q shows the password", err)
			}
		})
	}
}

func TestSecurityMapping(t *testing.T) {
	ca, cert, key := pemFile(t, "ca.pem"), pemFile(t, "cert.pem"), pemFile(t, "key.pem")
	for _, tc := range []struct {
		name   string
		cfg    kafka.Config
		want   map[string]any
		absent []string
	}{
		{"plaintext sets nothing", kafka.Config{Brokers: "b:1"}, nil,
			[]string{"security.protocol", "sasl.mechanisms", "sasl.username", "sasl.password", "ssl.ca.location"}},
		{"sasl_ssl scram with mutual TLS",
			kafka.Config{Brokers: "b:1", SecurityProtocol: "SASL_SSL", SASLMechanism: "scram-sha-256", SASLUsername: "u", SASLPassword: "p",
				TLSCAFile: ca, TLSCertFile: cert, TLSKeyFile: key},
			map[string]any{"security.protocol": "sasl_ssl", "sasl.mechanisms": "SCRAM-SHA-256", "sasl.username": "u", "sasl.password": "p",
				"ssl.ca.location": ca, "ssl.certificate.location": cert, "ssl.key.location": key}, nil},
		{"sasl_plaintext plain", kafka.Config{Brokers: "b:1", SecurityProtocol: kafka.SASLPlaintext, SASLMechanism: kafka.Plain, SASLUsername: "u", SASLPassword: "p"},
			map[string]any{"security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN"}, []string{"ssl.ca.location"}},
		{"ssl with the system roots", kafka.Config{Brokers: "b:1", SecurityProtocol: kafka.SSL},
			map[string]any{"security.protocol": "ssl"}, []string{"ssl.ca.location", "sasl.mechanisms"}},
		{"Extra applied last", kafka.Config{Brokers: "b:1", SecurityProtocol: kafka.SASLSSL, SASLMechanism: kafka.Plain, SASLUsername: "u", SASLPassword: "p",
			Extra: kafka.ConfigMap{"sasl.mechanisms": "SCRAM-SHA-512", "ssl.endpoint.identification.algorithm": "none"}},
			map[string]any{"sasl.mechanisms": "SCRAM-SHA-512", "ssl.endpoint.identification.algorithm": "none", "sasl.username": "u"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.cfg.ProducerConfig("")
			if err != nil {
				t.Fatal(err)
			}
			c, err := tc.cfg.ConsumerConfig("g", "")
			if err != nil {
				t.Fatal(err)
			}
			a, err := tc.cfg.AdminConfig()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []kafka.ConfigMap{p, c, a} {
				for k, v := range tc.want {
					if m[k] != v {
						t.Errorf("%s = %v, want %v", k, m[k], v)
					}
				}
				for _, k := range tc.absent {
					if v, ok := m[k]; ok {
						t.Errorf("%s = %v, want unset", k, v)
					}
				}
			}
		})
	}
}

// saslBroker starts a kfake broker that accepts only SASL clients, with
// one user of mechanism mech, on TLS when tc is non-nil (dialTLS is then
// how a trusted client connects).
func saslBroker(t *testing.T, mech kafka.SASLMechanism, user, pass string, tc *tls.Config, dialTLS *tls.Config) string {
	t.Helper()
	if tc == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		b, err := embedded.Start(ctx, embedded.WithSASL(mech, user, pass), embedded.WithTopics(kafka.TopicSpec{Name: "x", Partitions: 1, ReplicationFactor: 1}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		return b.Addr()
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(string(mech), user, pass), kfake.TLS(tc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	if err := embedded.AdvertiseHandshakeV0(c, func() (net.Conn, error) { return tls.Dial("tcp", addr, dialTLS) }); err != nil {
		t.Fatal(err)
	}
	return addr
}

// roundTrip creates a topic, produces one record and reads it back, all
// through clients built from cfg.
func roundTrip(t *testing.T, cfg kafka.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.Ping(ctx, cfg); err != nil {
		t.Fatalf("ping: %v", err)
	}
	topic := "secure"
	if err := kafka.EnsureTopics(ctx, cfg, []kafka.TopicSpec{{Name: topic, Partitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, &kafka.Message{Topic: topic, Partition: 0, Value: []byte("over a secure link")}); err != nil {
		t.Fatalf("delivery: %v", err)
	}
	if got := consumeAll(t, cfg, topic, 1, 0); len(got) != 1 || got[0] != "over a secure link" {
		t.Fatalf("consumed %q", got)
	}
}

// failsClearly checks that Ping reports the brokers refusing cfg with
// the client's reason (want in its message) within 5 seconds. A broker
// that answers with an error code (a real Kafka: SASL_AUTHENTICATION_FAILED,
// a TLS alert in the handshake) ends Ping at once with a refused
// ConnectError; kfake closes the connection on bad credentials instead, so
// the client retries and Ping ends at its deadline with the last reason.
func failsClearly(t *testing.T, cfg kafka.Config, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := kafka.Ping(ctx, cfg)
	var ce *kafka.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want a ConnectError saying %q", err, want)
	}
	if !ce.Refused() && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v: neither refused nor at the deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Ping took %v past a 5 s deadline", d)
	}
	if strings.Contains(err.Error(), "wrong-pw") || strings.Contains(err.Error(), "right-pw") {
		t.Fatalf("err %q shows a password", err)
	}
	var code kafka.Code
	if ke := (*kafka.Error)(nil); errors.As(err, &ke) {
		code = ke.Code
	}
	t.Logf("failed after %v (refused %v, code %v): %v", time.Since(start).Round(time.Millisecond), ce.Refused(), code, err)
}

func TestSASLAgainstKfake(t *testing.T) {
	for _, mech := range []kafka.SASLMechanism{kafka.Plain, kafka.ScramSHA256, kafka.ScramSHA512} {
		t.Run(string(mech), func(t *testing.T) {
			t.Parallel()
			addr := saslBroker(t, mech, "cachet", "right-pw", nil, nil)
			cfg := kafka.Config{Brokers: addr, ClientID: "sasl-test", SecurityProtocol: kafka.SASLPlaintext,
				SASLMechanism: mech, SASLUsername: "cachet", SASLPassword: "right-pw"}
			roundTrip(t, cfg)
			wrong := cfg
			wrong.SASLPassword = "wrong-pw"
			failsClearly(t, wrong, "SASL authentication error")
			stranger := cfg
			stranger.SASLUsername = "nobody"
			failsClearly(t, stranger, "SASL authentication error")
		})
	}
	// A SASL broker does not answer a plaintext client; Ping gives up at
	// its deadline with the context's error.
	t.Run("no credentials", func(t *testing.T) {
		t.Parallel()
		addr := saslBroker(t, kafka.Plain, "cachet", "right-pw", nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err := kafka.Ping(ctx, kafka.Config{Brokers: addr})
		var ce *kafka.ConnectError
		if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a ConnectError at the deadline", err)
		}
	})
}

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type pki struct {
	caFile, certFile, keyFile string
	server, client            tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cachet test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	srvDER, srvKey := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := leaf(3, "cachet-client", x509.ExtKeyUsageClientAuth)
	cliKeyDER, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pki{
		caFile:   write("ca.pem", "CERTIFICATE", caDER),
		certFile: write("client.pem", "CERTIFICATE", cliDER),
		keyFile:  write("client-key.pem", "PRIVATE KEY", cliKeyDER),
		server:   tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
		client:   tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey},
		pool:     pool,
	}
}

// TestTLSAgainstKfake runs sasl_ssl against a broker that also requires a
// client certificate (mutual TLS), and checks that a client without the
// certificate, trusting another CA or with a wrong password fails with
// the reason.
func TestTLSAgainstKfake(t *testing.T) {
	p := newPKI(t)
	addr := saslBroker(t, kafka.ScramSHA512, "cachet", "right-pw", &tls.Config{
		Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool, MinVersion: tls.VersionTLS12},
		&tls.Config{Certificates: []tls.Certificate{p.client}, RootCAs: p.pool, MinVersion: tls.VersionTLS12})
	cfg := kafka.Config{Brokers: addr, ClientID: "tls-test", SecurityProtocol: kafka.SASLSSL,
		SASLMechanism: kafka.ScramSHA512, SASLUsername: "cachet", SASLPassword: "right-pw",
		TLSCAFile: p.caFile, TLSCertFile: p.certFile, TLSKeyFile: p.keyFile}
	roundTrip(t, cfg)

	noCert := cfg
	noCert.TLSCertFile, noCert.TLSKeyFile = "", ""
	failsClearly(t, noCert, "certificate required")

	other := newPKI(t)
	otherCA := cfg
	otherCA.TLSCAFile = other.caFile
	failsClearly(t, otherCA, "certificate verify failed")

	wrong := cfg
	wrong.SASLPassword = "wrong-pw"
	failsClearly(t, wrong, "SASL authentication error")
}
