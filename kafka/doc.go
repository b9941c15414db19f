// Package kafka is Cachet's only way to Kafka: every daemon and tool
// reaches the brokers through its small types, and no other package
// imports the client library (confluent-kafka-go/v2, over librdkafka).
//
//   - Producer: idempotent (acks=all), with delivery reports.
//   - TxProducer: transactional, for writes that must land together.
//   - Consumer: reads only committed records (isolation.level=read_committed)
//     and never commits offsets itself, so records of an aborted Kafka
//     transaction never reach a daemon.
//   - Admin, EnsureTopics, DescribeTopic: topics and records.
//
// Records are Messages (topic, partition, offset, key, value, headers);
// the client's errors are *Error values (errors.As), with the Code that
// decides what a caller does.
//
// Config also carries the security settings (TLS with a CA and a client
// certificate, SASL/PLAIN and SASL/SCRAM), checked by Validate and mapped
// to librdkafka's properties; Ping tells a daemon at start whether the
// brokers accept it. The embedded broker for development and tests is in
// package kafka/embedded, apart, so daemons never link it.
package kafka
