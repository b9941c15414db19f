package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/kafka"
)

// kafkaFlags are the Kafka connection flags of every command that talks to
// Kafka: the brokers, TLS, SASL and raw librdkafka properties. Each falls
// back to its CACHET_KAFKA_… variable. The SASL password is never a flag
// value: it comes from a file (--kafka-sasl-password-file, e.g. a mounted
// Secret) or from CACHET_KAFKA_SASL_PASSWORD.
type kafkaFlags struct {
	brokers                                     string
	protocol, mechanism, username, passwordFile string
	caFile, certFile, keyFile                   string
	properties                                  propertyFlag
}

// register defines the flags on fs; defBrokers is the default bootstrap
// list when CACHET_BROKERS is unset (kafka.DefaultBrokers for commands
// that find a local broker by default).
func (k *kafkaFlags) register(fs *pflag.FlagSet, defBrokers string) {
	fs.StringVar(&k.brokers, "brokers", envOr("CACHET_BROKERS", defBrokers), "Kafka bootstrap servers (env CACHET_BROKERS)")
	fs.StringVar(&k.protocol, "kafka-security-protocol", getenv("CACHET_KAFKA_SECURITY_PROTOCOL"), "plaintext (default), ssl, sasl_plaintext or sasl_ssl (env CACHET_KAFKA_SECURITY_PROTOCOL)")
	fs.StringVar(&k.mechanism, "kafka-sasl-mechanism", getenv("CACHET_KAFKA_SASL_MECHANISM"), "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with the sasl_ protocols (env CACHET_KAFKA_SASL_MECHANISM)")
	fs.StringVar(&k.username, "kafka-sasl-username", getenv("CACHET_KAFKA_SASL_USERNAME"), "SASL username (env CACHET_KAFKA_SASL_USERNAME)")
	fs.StringVar(&k.passwordFile, "kafka-sasl-password-file", getenv("CACHET_KAFKA_SASL_PASSWORD_FILE"), "file holding the SASL password, a trailing newline ignored (env CACHET_KAFKA_SASL_PASSWORD_FILE; or the password itself in env CACHET_KAFKA_SASL_PASSWORD)")
	fs.StringVar(&k.caFile, "kafka-tls-ca", getenv("CACHET_KAFKA_TLS_CA"), "PEM file of the CAs the brokers' certificates are checked against, with ssl or sasl_ssl (default: the system's) (env CACHET_KAFKA_TLS_CA)")
	fs.StringVar(&k.certFile, "kafka-tls-cert", getenv("CACHET_KAFKA_TLS_CERT"), "PEM file of the client certificate, for brokers that require one (env CACHET_KAFKA_TLS_CERT)")
	fs.StringVar(&k.keyFile, "kafka-tls-key", getenv("CACHET_KAFKA_TLS_KEY"), "PEM file of the client certificate's key (env CACHET_KAFKA_TLS_KEY)")
	fs.Var(&k.properties, "kafka-property", "librdkafka property key=value, applied last over everything else; repeatable")
}

// config returns the kafka.Config these flags describe. Settings that
// cannot work together are *kafka.ConfigError (exit status 2).
func (k *kafkaFlags) config(clientID string) (kafka.Config, error) {
	cfg := kafka.Config{Brokers: k.brokers, ClientID: clientID,
		SASLUsername: k.username, TLSCAFile: k.caFile, TLSCertFile: k.certFile, TLSKeyFile: k.keyFile}
	var err error
	if cfg.SecurityProtocol, err = kafka.ParseSecurityProtocol(k.protocol); err != nil {
		return cfg, err
	}
	if cfg.SASLMechanism, err = kafka.ParseSASLMechanism(k.mechanism); err != nil {
		return cfg, err
	}
	envPassword := getenv("CACHET_KAFKA_SASL_PASSWORD")
	switch {
	case k.passwordFile != "" && envPassword != "":
		return cfg, usageError{"--kafka-sasl-password-file and CACHET_KAFKA_SASL_PASSWORD are both set: use one"}
	case k.passwordFile != "":
		b, err := os.ReadFile(k.passwordFile)
		if err != nil {
			return cfg, usageError{fmt.Sprintf("--kafka-sasl-password-file: %v", err)}
		}
		cfg.SASLPassword = strings.TrimRight(string(b), "\r\n")
		if cfg.SASLPassword == "" {
			return cfg, usageError{fmt.Sprintf("--kafka-sasl-password-file: %s is empty", k.passwordFile)}
		}
	default:
		cfg.SASLPassword = envPassword
	}
	if len(k.properties) > 0 {
		cfg.Extra = kafka.ConfigMap{}
		for _, p := range k.properties {
			cfg.Extra[p.key] = p.value
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// pingTimeout bounds how long a daemon waits at start for the brokers.
const pingTimeout = 30 * time.Second

// pingKafka checks at start that the brokers answer and accept cfg's
// credentials, so a wrong password or CA ends the command with the reason.
func pingKafka(ctx context.Context, cfg kafka.Config) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return kafka.Ping(ctx, cfg)
}

// propertyFlag collects repeated --kafka-property key=value flags.
type propertyFlag []struct{ key, value string }

func (p *propertyFlag) String() string {
	if p == nil {
		return ""
	}
	var s []string
	for _, kv := range *p {
		s = append(s, kv.key+"="+kv.value)
	}
	return strings.Join(s, ",")
}

func (p *propertyFlag) Type() string { return "key=value" }

func (p *propertyFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*p = append(*p, struct{ key, value string }{key, value})
	return nil
}
