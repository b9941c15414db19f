package kafka

import (
	"strings"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ConfigMap holds librdkafka properties by name
// (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
type ConfigMap map[string]any

func (m ConfigMap) client() *ckafka.ConfigMap {
	cm := make(ckafka.ConfigMap, len(m))
	for k, v := range m {
		cm[k] = v
	}
	return &cm
}

// Config is what every Cachet Kafka client needs. The methods below turn it
// into librdkafka properties with Cachet's delivery guarantees.
type Config struct {
	// Brokers is the bootstrap list, "host:port[,host:port...]".
	Brokers string
	// ClientID names the client in broker logs and metrics (client.id).
	ClientID string

	// SecurityProtocol is plaintext (also when empty), ssl, sasl_plaintext
	// or sasl_ssl (security.protocol).
	SecurityProtocol SecurityProtocol
	// SASLMechanism, SASLUsername and SASLPassword authenticate with
	// SASL/PLAIN or SASL/SCRAM (sasl.mechanisms, sasl.username,
	// sasl.password); the sasl_ protocols need them, unless Extra sets
	// sasl.mechanisms to a mechanism of its own.
	SASLMechanism SASLMechanism
	SASLUsername  string
	SASLPassword  string
	// TLSCAFile is a PEM file of the CAs the brokers' certificates are
	// checked against (ssl.ca.location; empty: the system's roots).
	// TLSCertFile and TLSKeyFile are the client's certificate and key, for
	// brokers that require client certificates (ssl.certificate.location,
	// ssl.key.location). With ssl and sasl_ssl only.
	TLSCAFile, TLSCertFile, TLSKeyFile string

	// Extra holds librdkafka properties applied last, over Cachet's defaults
	// and the security settings above (tuning, mechanisms Config does not
	// name). Use it knowingly: overriding acks or isolation.level gives up
	// the guarantees documented here.
	Extra ConfigMap
}

// Validate reports a Config with no brokers or an empty broker entry, and
// security settings that cannot work together: SASL settings without a
// sasl_ protocol, a sasl_ protocol without a mechanism or credentials, TLS
// files without ssl or sasl_ssl, a file that is missing, a client
// certificate without its key.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Brokers) == "" {
		return &ConfigError{Field: "brokers", Reason: "empty bootstrap list"}
	}
	for _, b := range strings.Split(c.Brokers, ",") {
		if strings.TrimSpace(b) == "" {
			return &ConfigError{Field: "brokers", Reason: "empty entry in " + c.Brokers}
		}
	}
	return c.validateSecurity()
}

func (c Config) base() ConfigMap {
	// librdkafka logs at info level by default (telemetry, reconnects);
	// warnings and errors are what an operator needs.
	m := ConfigMap{"bootstrap.servers": c.Brokers, "log_level": 4}
	if c.ClientID != "" {
		m["client.id"] = c.ClientID
	}
	c.security(m)
	return m
}

func (c Config) finish(m ConfigMap) (ConfigMap, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	return m, nil
}

// ProducerConfig returns the properties of an idempotent producer that waits
// for all in-sync replicas (acks=all). A non-empty transactionalID makes it
// a transactional producer (call InitTransactions before use).
func (c Config) ProducerConfig(transactionalID string) (ConfigMap, error) {
	m := c.base()
	m["enable.idempotence"] = true
	m["acks"] = "all"
	m["linger.ms"] = 5
	if transactionalID != "" {
		m["transactional.id"] = transactionalID
	}
	return c.finish(m)
}

// ConsumerConfig returns the properties of a consumer that reads only
// committed records and never commits offsets on its own. group is the
// consumer group; librdkafka needs one even for consumers that Assign
// partitions themselves, so an empty group becomes "<client id>-assign".
// offsetReset is "earliest" or "latest" (empty: earliest).
func (c Config) ConsumerConfig(group, offsetReset string) (ConfigMap, error) {
	if group == "" {
		group = c.ClientID + "-assign"
		if c.ClientID == "" {
			group = "cachet-assign"
		}
	}
	if offsetReset == "" {
		offsetReset = "earliest"
	}
	if offsetReset != "earliest" && offsetReset != "latest" {
		return nil, &ConfigError{Field: "auto.offset.reset", Reason: "want earliest or latest, got " + offsetReset}
	}
	m := c.base()
	m["group.id"] = group
	m["isolation.level"] = "read_committed"
	m["enable.auto.commit"] = false
	m["auto.offset.reset"] = offsetReset
	m["enable.partition.eof"] = false
	return c.finish(m)
}

// AdminConfig returns the properties of an admin client.
func (c Config) AdminConfig() (ConfigMap, error) { return c.finish(c.base()) }
