package telemetry

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Attribute keys every hop's spans share for the cache entry they concern:
// the relay's, push's and the browser SDK's (sdk/src/client.ts) spans
// name it alike, so one query finds a key's whole path.
const (
	AttrCacheKey     = attribute.Key("cache.key")
	AttrCacheVersion = attribute.Key("cache.version")
)

// KafkaSend returns the OpenTelemetry messaging attributes (semantic
// conventions v1.43) of a PRODUCER span that sends one record keyed key
// to topic. The partition is the producer's choice, unknown when the span
// starts, so it is not among them.
func KafkaSend(topic, key string) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKafka, semconv.MessagingOperationName("send"), semconv.MessagingOperationTypeSend,
		semconv.MessagingDestinationName(topic), semconv.MessagingKafkaMessageKey(key),
	}
}

// KafkaProcess returns the OpenTelemetry messaging attributes of a
// CONSUMER span that processes the record keyed key at offset of topic's
// partition.
func KafkaProcess(topic string, partition int32, offset int64, key string) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKafka, semconv.MessagingOperationName("process"), semconv.MessagingOperationTypeProcess,
		semconv.MessagingDestinationName(topic), semconv.MessagingDestinationPartitionID(strconv.FormatInt(int64(partition), 10)),
		semconv.MessagingKafkaOffset(int(offset)), semconv.MessagingKafkaMessageKey(key),
	}
}
