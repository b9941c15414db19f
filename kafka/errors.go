package kafka

import (
	"errors"
	"fmt"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ConfigError reports a Config or TopicSpec that cannot work.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("kafka config: %s: %s", e.Field, e.Reason) }

// TopicError reports a failure to create or describe one topic. Err is the
// client's error (an *Error when the broker answered).
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

// ClientError reports a failure to build a client.
type ClientError struct {
	Kind string // "producer", "consumer" or "admin"
	Err  error
}

func (e *ClientError) Error() string { return fmt.Sprintf("kafka: new %s: %v", e.Kind, e.Err) }

func (e *ClientError) Unwrap() error { return e.Err }

// ConnectError reports brokers that could not be reached or refused the
// client. Err is the client's last error: an *Error (CodeAuthentication
// for refused SASL credentials, CodeSSL for a failed TLS handshake), joined with the context's error when time ran out.
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

// Code is a Kafka error code, the broker's or the client's own (negative).
type Code int

// The codes Cachet acts on.
const (
	CodeFatal                = Code(ckafka.ErrFatal)
	CodeTimedOut             = Code(ckafka.ErrTimedOut)
	CodeAutoOffsetReset      = Code(ckafka.ErrAutoOffsetReset)
	CodeOffsetOutOfRange     = Code(ckafka.ErrOffsetOutOfRange)
	CodeUnknownTopicOrPart   = Code(ckafka.ErrUnknownTopicOrPart)
	CodeFenced               = Code(ckafka.ErrFenced)
	CodeProducerFenced       = Code(ckafka.ErrProducerFenced)
	CodeInvalidProducerEpoch = Code(ckafka.ErrInvalidProducerEpoch)
	CodeAuthentication       = Code(ckafka.ErrAuthentication)
	CodeSSL                  = Code(ckafka.ErrSsl)
	CodeQueueFull            = Code(ckafka.ErrQueueFull)
)

// String names the code as librdkafka does.
func (c Code) String() string { return ckafka.ErrorCode(c).String() }

// Error is an error the Kafka client or a broker reported: a failed
// delivery, a consumer's error event, a failed transaction step. Match it
// with errors.As.
type Error struct {
	Code Code
	// Fatal reports an error that leaves the client unusable: close it
	// and build a new one.
	Fatal bool
	// Retriable reports an operation that may succeed if tried again.
	Retriable bool
	err       ckafka.Error
}

func (e *Error) Error() string { return e.err.Error() }

// Unwrap returns the client's own error.
func (e *Error) Unwrap() error { return e.err }

// Timeout reports an operation that ran out of time.
func (e *Error) Timeout() bool { return e.err.IsTimeout() }

// Fenced reports that a newer producer with the same transactional.id took
// over: this one must step down.
func (e *Error) Fenced() bool {
	switch e.Code {
	case CodeFenced, CodeProducerFenced, CodeInvalidProducerEpoch:
		return true
	}
	return false
}

func (*Error) kafkaEvent() {}

// wrap turns the client's errors into *Error; others pass unchanged.
func wrap(err error) error {
	var ke ckafka.Error
	if err == nil || !errors.As(err, &ke) {
		return err
	}
	return newError(ke)
}

func newError(ke ckafka.Error) *Error {
	return &Error{Code: Code(ke.Code()), Fatal: ke.IsFatal(), Retriable: ke.IsRetriable(), err: ke}
}
