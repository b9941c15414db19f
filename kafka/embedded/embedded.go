// Package embedded is an in-process Kafka-protocol broker (franz-go's kfake)
// for development (cachet dev) and tests. Daemons never link it: they reach
// brokers through package kafka's clients only.
package embedded

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/cachetsync/cachet/kafka"
)

// Broker is an in-process Kafka-protocol broker (franz-go's kfake) on
// 127.0.0.1 with Cachet's topics created. It speaks enough of Kafka for
// confluent-kafka-go producers (idempotent and transactional), read_committed
// consumers and admin clients. It is for development and tests: one broker,
// data in memory unless WithDataDir is given.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	sasl    *kafka.Config
	once    sync.Once
}

// Option configures Start.
type Option func(*embeddedConfig)

type embeddedConfig struct {
	port       int
	partitions int
	topics     []kafka.TopicSpec
	dataDir    string
	sasl       *kafka.Config // security settings of a SASL broker, or nil
	extra      []kfake.Opt
}

// WithPort makes the broker listen on 127.0.0.1:port (0, the default, picks
// a free port).
func WithPort(port int) Option { return func(c *embeddedConfig) { c.port = port } }

// WithPartitions sets the partition count of the transitions, reads and
// advice topics (default kafka.DefaultTransitionPartitions).
func WithPartitions(n int) Option { return func(c *embeddedConfig) { c.partitions = n } }

// WithTopics replaces the topics created at start (default kafka.CachetTopics).
func WithTopics(specs ...kafka.TopicSpec) Option {
	return func(c *embeddedConfig) { c.topics = specs }
}

// WithDataDir persists the broker's data in dir, so a restarted broker
// keeps its records, offsets and topic IDs.
func WithDataDir(dir string) Option { return func(c *embeddedConfig) { c.dataDir = dir } }

// WithKfakeOptions passes options straight to kfake.NewCluster (tests use it
// to inject faults).
func WithKfakeOptions(opts ...kfake.Opt) Option {
	return func(c *embeddedConfig) { c.extra = append(c.extra, opts...) }
}

// Start starts the broker and creates its topics; ctx bounds the
// start only. The broker runs until Close.
func Start(ctx context.Context, opts ...Option) (*Broker, error) {
	var c embeddedConfig
	for _, o := range opts {
		o(&c)
	}
	if c.port < 0 || c.port > 65535 {
		return nil, &kafka.ConfigError{Field: "port", Reason: fmt.Sprintf("%d out of range", c.port)}
	}
	if c.topics == nil {
		c.topics = kafka.CachetTopics(c.partitions, 1)
	}
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(c.port), kfake.ClusterID("cachet-embedded")}
	for _, t := range c.topics {
		if err := t.Validate(); err != nil {
			return nil, err
		}
	}
	if c.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(c.dataDir))
	}
	sopts, err := c.saslOpts()
	if err != nil {
		return nil, err
	}
	kopts = append(kopts, sopts...)
	kopts = append(kopts, c.extra...)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start embedded broker: %w", err)
	}
	e := &Broker{cluster: cl, addr: strings.Join(cl.ListenAddrs(), ","), sasl: c.sasl}
	if c.sasl != nil {
		if err := AdvertiseHandshakeV0(cl, func() (net.Conn, error) { return net.Dial("tcp", e.addr) }); err != nil {
			e.Close()
			return nil, err
		}
	}
	if err := kafka.EnsureTopics(ctx, e.Config("cachet-embedded"), c.topics); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Addr returns the bootstrap address, "127.0.0.1:port".
func (e *Broker) Addr() string { return e.addr }

// Config returns a client Config for this broker, with its SASL
// credentials when it was started WithSASL.
func (e *Broker) Config(clientID string) kafka.Config {
	c := kafka.Config{Brokers: e.addr, ClientID: clientID}
	if e.sasl != nil {
		c.SecurityProtocol, c.SASLMechanism = e.sasl.SecurityProtocol, e.sasl.SASLMechanism
		c.SASLUsername, c.SASLPassword = e.sasl.SASLUsername, e.sasl.SASLPassword
	}
	return c
}

// Cluster exposes the kfake cluster for tests that drive it directly
// (retention, fault injection).
func (e *Broker) Cluster() *kfake.Cluster { return e.cluster }

// Close stops the broker; it is safe to call more than once.
func (e *Broker) Close() {
	e.once.Do(e.cluster.Close)
}
