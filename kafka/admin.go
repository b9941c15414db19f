package kafka

import (
	"context"
	"errors"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// adminTimeout bounds one admin request when ctx has no earlier deadline.
const adminTimeout = 30 * time.Second

// EnsureTopics creates the topics in specs that do not exist yet and checks
// that those that do have the partition count asked for (a
// *PartitionMismatchError otherwise). Other failures are *TopicError.
func EnsureTopics(ctx context.Context, cfg Config, specs []TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	a, err := NewAdmin(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.EnsureTopics(ctx, specs)
}

// Admin manages topics and records.
type Admin struct{ a *ckafka.AdminClient }

// NewAdmin builds an admin client from cfg's AdminConfig.
func NewAdmin(cfg Config) (*Admin, error) {
	m, err := cfg.AdminConfig()
	if err != nil {
		return nil, err
	}
	a, err := ckafka.NewAdminClient(m.client())
	if err != nil {
		return nil, &ClientError{Kind: "admin", Err: wrap(err)}
	}
	return &Admin{a: a}, nil
}

// Close releases the client.
func (a *Admin) Close() { a.a.Close() }

// EnsureTopics is the package's EnsureTopics on a client of one's own.
func (a *Admin) EnsureTopics(ctx context.Context, specs []TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	cs := make([]ckafka.TopicSpecification, len(specs))
	for i, s := range specs {
		cs[i] = ckafka.TopicSpecification{Topic: s.Name, NumPartitions: s.Partitions,
			ReplicationFactor: s.ReplicationFactor, Config: s.Config}
	}
	res, err := a.a.CreateTopics(cctx, cs)
	if err != nil {
		return &TopicError{Topic: specs[0].Name, Op: "create", Err: wrap(err)}
	}
	var existing []TopicSpec
	for i, r := range res {
		switch r.Error.Code() {
		case ckafka.ErrNoError:
		case ckafka.ErrTopicAlreadyExists:
			existing = append(existing, specs[i])
		default:
			return &TopicError{Topic: r.Topic, Op: "create", Err: newError(r.Error)}
		}
	}
	for _, s := range existing {
		info, err := a.describe(cctx, s.Name)
		if err != nil {
			return err
		}
		if info.Partitions != s.Partitions {
			return &PartitionMismatchError{Topic: s.Name, Want: s.Partitions, Got: info.Partitions}
		}
	}
	return nil
}

// TopicInfo is what DescribeTopic learns of a topic.
type TopicInfo struct {
	Name string
	// ID is the broker's topic ID (a UUID string). It changes when the
	// topic is deleted and created again, so it names an incarnation.
	ID         string
	Partitions int
}

// ErrNoTopicID is wrapped by a *TopicError when the broker reports no topic
// ID (brokers before Kafka 2.8).
var ErrNoTopicID = errors.New("broker reports no topic ID")

// DescribeTopic returns the topic's ID and partition count.
func DescribeTopic(ctx context.Context, cfg Config, topic string) (TopicInfo, error) {
	a, err := NewAdmin(cfg)
	if err != nil {
		return TopicInfo{}, err
	}
	defer a.Close()
	return a.DescribeTopic(ctx, topic)
}

// DescribeTopic is the package's DescribeTopic on a client of one's own.
func (a *Admin) DescribeTopic(ctx context.Context, topic string) (TopicInfo, error) {
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	return a.describe(cctx, topic)
}

func (a *Admin) describe(ctx context.Context, topic string) (TopicInfo, error) {
	res, err := a.a.DescribeTopics(ctx, ckafka.NewTopicCollectionOfTopicNames([]string{topic}))
	if err != nil {
		return TopicInfo{}, &TopicError{Topic: topic, Op: "describe", Err: wrap(err)}
	}
	if len(res.TopicDescriptions) != 1 {
		return TopicInfo{}, &TopicError{Topic: topic, Op: "describe", Err: errors.New("no description returned")}
	}
	d := res.TopicDescriptions[0]
	if d.Error.Code() != ckafka.ErrNoError {
		return TopicInfo{}, &TopicError{Topic: topic, Op: "describe", Err: newError(d.Error)}
	}
	info := TopicInfo{Name: d.Name, Partitions: len(d.Partitions)}
	if d.TopicID.GetMostSignificantBits() == 0 && d.TopicID.GetLeastSignificantBits() == 0 {
		return info, &TopicError{Topic: topic, Op: "describe", Err: ErrNoTopicID}
	}
	info.ID = d.TopicID.String()
	return info, nil
}

// DeleteRecords removes each partition's records below its offset, as
// retention would.
func (a *Admin) DeleteRecords(ctx context.Context, before []TopicPartition) error {
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	res, err := a.a.DeleteRecords(cctx, toClientPartitions(before))
	if err != nil {
		return wrap(err)
	}
	for _, r := range res.DeleteRecordsResults {
		if r.TopicPartition.Error != nil {
			return wrap(r.TopicPartition.Error)
		}
	}
	return nil
}
