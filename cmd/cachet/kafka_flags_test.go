package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
)

func TestKafkaFlags(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(kafka.Config) bool
		field string // a usage error on this ConfigError field; "usage": another usage error
	}{
		{name: "plaintext by default", check: func(c kafka.Config) bool {
			return c.Brokers == "127.0.0.1:9092" && c.SecurityProtocol == "" && c.Extra == nil
		}},
		{name: "sasl_ssl with the password from a file",
			args: []string{"--kafka-security-protocol=SASL_SSL", "--kafka-sasl-mechanism=scram-sha-512", "--kafka-sasl-username=relay", "--kafka-sasl-password-file=" + pwFile, "--kafka-tls-ca=" + ca},
			check: func(c kafka.Config) bool {
				return c.SecurityProtocol == kafka.SASLSSL && c.SASLMechanism == kafka.ScramSHA512 && c.SASLUsername == "relay" &&
					c.SASLPassword == "from-file" && c.TLSCAFile == ca
			}},
		{name: "everything from the environment",
			env: map[string]string{"CACHET_BROKERS": "k:9093", "CACHET_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "CACHET_KAFKA_SASL_MECHANISM": "PLAIN",
				"CACHET_KAFKA_SASL_USERNAME": "u", "CACHET_KAFKA_SASL_PASSWORD": "from-env"},
			check: func(c kafka.Config) bool {
				return c.Brokers == "k:9093" && c.SecurityProtocol == kafka.SASLPlaintext && c.SASLPassword == "from-env"
			}},
		{name: "password file from the environment", args: []string{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=PLAIN", "--kafka-sasl-username=u"},
			env:   map[string]string{"CACHET_KAFKA_SASL_PASSWORD_FILE": pwFile},
			check: func(c kafka.Config) bool { return c.SASLPassword == "from-file" }},
		{name: "properties applied in order", args: []string{"--kafka-property=socket.keepalive.enable=true", "--kafka-property", "client.rack=eu-1a", "--kafka-property=client.rack=eu-1b"},
			check: func(c kafka.Config) bool {
				return c.Extra["socket.keepalive.enable"] == "true" && c.Extra["client.rack"] == "eu-1b"
			}},
		{name: "a property with = in its value", args: []string{"--kafka-property=sasl.oauthbearer.config=principal=a"},
			check: func(c kafka.Config) bool { return c.Extra["sasl.oauthbearer.config"] == "principal=a" }},
		{name: "property without =", args: []string{"--kafka-property=acks"}, field: "usage"},
		{name: "unknown protocol", args: []string{"--kafka-security-protocol=tls"}, field: "security.protocol"},
		{name: "unknown mechanism", args: []string{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=GSSAPI"}, field: "sasl.mechanism"},
		{name: "sasl without a password", args: []string{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=PLAIN", "--kafka-sasl-username=u"}, field: "sasl.password"},
		{name: "username on plaintext", args: []string{"--kafka-sasl-username=u"}, field: "security.protocol"},
		{name: "CA without TLS", args: []string{"--kafka-tls-ca=" + ca}, field: "ssl.ca.location"},
		{name: "missing password file", args: []string{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=PLAIN", "--kafka-sasl-username=u", "--kafka-sasl-password-file=" + filepath.Join(dir, "none")}, field: "usage"},
		{name: "two password sources", args: []string{"--kafka-security-protocol=sasl_ssl", "--kafka-sasl-mechanism=PLAIN", "--kafka-sasl-username=u", "--kafka-sasl-password-file=" + pwFile},
			env: map[string]string{"CACHET_KAFKA_SASL_PASSWORD": "p"}, field: "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"CACHET_BROKERS", "CACHET_KAFKA_SECURITY_PROTOCOL", "CACHET_KAFKA_SASL_MECHANISM", "CACHET_KAFKA_SASL_USERNAME",
				"CACHET_KAFKA_SASL_PASSWORD", "CACHET_KAFKA_SASL_PASSWORD_FILE", "CACHET_KAFKA_TLS_CA", "CACHET_KAFKA_TLS_CERT", "CACHET_KAFKA_TLS_KEY"} {
				t.Setenv(v, tc.env[v])
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var kf kafkaFlags
			kf.register(fs, kafka.DefaultBrokers)
			err := fs.Parse(tc.args)
			var cfg kafka.Config
			if err == nil {
				cfg, err = kf.config("test")
			} else {
				err = asUsage(err)
			}
			var ce *kafka.ConfigError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.field == "" && !tc.check(cfg):
				t.Fatalf("config %+v", cfg)
			case tc.field == "":
			case exitCode(err) != exitUsage:
				t.Fatalf("err = %v, want a usage error", err)
			case tc.field != "usage" && (!errors.As(err, &ce) || ce.Field != tc.field):
				t.Fatalf("err = %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
}

// TestProduceAndWatchOverSASL runs `cachet produce` and `cachet watch
// --kafka` with SCRAM credentials (password from a file, and from the
// environment) against a broker that accepts only SASL clients, and a
// wrong password, which fails with the client's reason.
func TestProduceAndWatchOverSASL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx, embedded.WithPartitions(1), embedded.WithSASL(kafka.ScramSHA256, "cachet", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPW := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongPW, []byte("guess\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := func(pwFile string) []string {
		return []string{"--brokers", b.Addr(), "--kafka-security-protocol", "sasl_plaintext", "--kafka-sasl-mechanism", "SCRAM-SHA-256",
			"--kafka-sasl-username", "cachet", "--kafka-sasl-password-file", pwFile}
	}
	line := `{"key":"ns:sasl","version":1,"state":"INVALIDATED","txId":"t","owner":"Org1MSP","actor":"Org1MSP","reason":"over sasl"}` + "\n"
	produce := func(ctx context.Context, args []string) (string, error) {
		setStdin(t, line)
		var out strings.Builder
		err := cachet(ctx, append([]string{"produce"}, args...), &out)
		return out.String(), err
	}
	if out, err := produce(ctx, flags(pw)); err != nil || !strings.HasPrefix(out, "ok 0 ") {
		t.Fatalf("produce: %q, %v", out, err)
	}

	t.Setenv("CACHET_KAFKA_SASL_PASSWORD", "s3cret")
	var out syncBuffer
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- cachet(wctx, []string{"watch", "--kafka", "--brokers", b.Addr(), "--kafka-security-protocol=sasl_plaintext",
			"--kafka-sasl-mechanism=SCRAM-SHA-256", "--kafka-sasl-username=cachet", "--from-beginning"}, &out)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "over sasl"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed %q", out.String())
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Setenv("CACHET_KAFKA_SASL_PASSWORD", "")

	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	defer pcancel()
	start := time.Now()
	_, err = produce(pctx, flags(wrongPW))
	var ce *kafka.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SASL authentication error") || strings.Contains(err.Error(), "guess") {
		t.Fatalf("err = %v, want a ConnectError naming the SASL failure", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("a wrong password took %v to fail", d)
	}
}
