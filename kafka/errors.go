package kafka

import (
	"errors"
	"fmt"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ErrClosed is returned by operations on a closed embedded broker.
var ErrClosed = errors.New("kafka: embedded broker closed")

// ConfigError reports a Config or TopicSpec that cannot work.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("kafka config: %s: %s", e.Field, e.Reason) }

// TopicError reports a failure to create or describe one topic. Err is the
// client's error (a confluent-kafka-go kafka.Error when the broker answered).
type TopicError struct {
	Topic string
	Op    string // "create" or "describe"
	Err   error
}

func (e *TopicError) Error() string {
	return fmt.Sprintf("kafka: %s topic %s: %v", e.Op, e.Topic, e.Err)
}

func (e *TopicError) Unwrap() error { return e.Err }

// PartitionMismatchError reports a topic that exists with another partition
// count than its spec asks for. Cachet never repartitions a topic by itself:
// a key's partition, and so its order, would change.
type PartitionMismatchError struct {
	Topic     string
	Want, Got int
}

func (e *PartitionMismatchError) Error() string {
	return fmt.Sprintf("kafka: topic %s has %d partitions, want %d", e.Topic, e.Got, e.Want)
}

// ClientError reports a failure to build a confluent-kafka-go client.
type ClientError struct {
	Kind string // "producer", "consumer" or "admin"
	Err  error
}

func (e *ClientError) Error() string { return fmt.Sprintf("kafka: new %s: %v", e.Kind, e.Err) }

func (e *ClientError) Unwrap() error { return e.Err }

// ConnectError reports brokers that could not be reached or refused the
// client. Err is the client's last error: a confluent-kafka-go kafka.Error
// (code ErrAuthentication for refused SASL credentials, ErrSsl for a failed
// TLS handshake), joined with the context's error when time ran out.
type ConnectError struct {
	Brokers string
	Err     error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("kafka: connect to %s: %v", e.Brokers, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Refused reports whether the brokers answered and refused the client
// (credentials, TLS): waiting or retrying does not help.
func (e *ConnectError) Refused() bool {
	var ke ckafka.Error
	return errors.As(e.Err, &ke) && refused(ke)
}
