package main

import (
	"fmt"
	"os"
)

// envVar is an environment variable cachet reads: the flag help texts
// name it, getenv reads it, and docs/configuration.md lists it with the
// commands whose flags name it.
type envVar struct {
	Name string
	Sets string // what it sets, for the configuration reference
}

// envVars is every environment variable cachet reads. getenv refuses any
// other name, so a new variable is declared here or the command tree
// does not build.
var envVars = []envVar{
	{"CACHET_CONFIG", "the connection profile (JSON, as `network.sh profile ORG ROLE` writes); `--config`"},
	{"CACHET_MSP_ID", "the client's MSP ID; `--msp-id`"},
	{"CACHET_MSP_DIR", "the client's MSP folder (signcerts/, keystore/); `--msp-dir`"},
	{"CACHET_PEERS", "comma-separated peer endpoints, tried in order; `--peers`"},
	{"CACHET_TLS_CA", "PEM file of the peers' TLS CA; `--tls-ca`"},
	{"CACHET_CHANNEL", "the channel (default cachet); `--channel`"},
	{"CACHET_BROKERS", "Kafka bootstrap servers; `--brokers`"},
	{"CACHET_KAFKA_SECURITY_PROTOCOL", "plaintext, ssl, sasl_plaintext or sasl_ssl; `--kafka-security-protocol`"},
	{"CACHET_KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; `--kafka-sasl-mechanism`"},
	{"CACHET_KAFKA_SASL_USERNAME", "SASL username; `--kafka-sasl-username`"},
	{"CACHET_KAFKA_SASL_PASSWORD_FILE", "file holding the SASL password; `--kafka-sasl-password-file`"},
	{"CACHET_KAFKA_SASL_PASSWORD", "the SASL password itself (no flag: a password on a command line is visible to every user); not together with a password file"},
	{"CACHET_KAFKA_TLS_CA", "PEM file of the brokers' CAs; `--kafka-tls-ca`"},
	{"CACHET_KAFKA_TLS_CERT", "PEM file of the Kafka client certificate; `--kafka-tls-cert`"},
	{"CACHET_KAFKA_TLS_KEY", "PEM file of the Kafka client certificate's key; `--kafka-tls-key`"},
	{"CACHET_PUSH_SECRET", "HS256 secret of push tokens: the server's to check them, watch's to mint them; `--jwt-secret`"},
	{"CACHET_PUSH_URL", "the push server's WebSocket URL that `watch --push` connects to; `--url`"},
	{"CACHET_PUSH_TOKEN", "the push token `watch --push` presents; `--token`"},
	{"CACHET_ANALYTICS_URL", "the analytics daemon's ops URL that `coverage` asks; `--analytics`"},
	{"CACHET_RELAY_INSTANCE", "the relay's stable name among the channel's relays; `--instance-id`"},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP/HTTP endpoint for spans; `--otlp-endpoint`"},
	{"OTEL_SERVICE_NAME", "the service name on exported spans (read by OpenTelemetry)"},
	{"OTEL_RESOURCE_ATTRIBUTES", "more resource attributes on exported spans (read by OpenTelemetry)"},
}

// getenv returns the value of the declared variable name. It panics on a
// name missing from envVars: a programming error every test of the
// command tree finds.
func getenv(name string) string {
	for _, v := range envVars {
		if v.Name == name {
			return os.Getenv(name)
		}
	}
	panic(fmt.Sprintf("cachet: environment variable %s is not declared in envVars", name))
}

// envOr returns the declared variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
