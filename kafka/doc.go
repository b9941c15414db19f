// Package kafka is Cachet's Kafka plumbing, shared by every daemon: an
// embedded Kafka-protocol broker for development and tests (StartEmbedded,
// wrapping franz-go's kfake), and configuration helpers for
// confluent-kafka-go/v2 clients (Config, EnsureTopics, DescribeTopic).
//
// Producers built from Config are idempotent with acks=all; consumers read
// only committed records (isolation.level=read_committed), so records of an
// aborted Kafka transaction never reach a daemon.
//
// Config also carries the security settings (TLS with a CA and a client
// certificate, SASL/PLAIN and SASL/SCRAM), checked by Validate and mapped
// to librdkafka's properties; Ping tells a daemon at start whether the
// brokers accept it.
package kafka
