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
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	cs := make([]ckafka.TopicSpecification, len(specs))
	for i, s := range specs {
		cs[i] = ckafka.TopicSpecification{Topic: s.Name, NumPartitions: s.Partitions,
			ReplicationFactor: s.ReplicationFactor, Config: s.Config}
	}
	res, err := a.CreateTopics(cctx, cs)
	if err != nil {
		return &TopicError{Topic: specs[0].Name, Op: "create", Err: err}
	}
	var existing []TopicSpec
	for i, r := range res {
		switch r.Error.Code() {
		case ckafka.ErrNoError:
		case ckafka.ErrTopicAlreadyExists:
			existing = append(existing, specs[i])
		default:
			return &TopicError{Topic: r.Topic, Op: "create", Err: r.Error}
		}
	}
	for _, s := range existing {
		info, err := describe(cctx, a, s.Name)
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
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	return describe(cctx, a, topic)
}

func describe(ctx context.Context, a *ckafka.AdminClient, topic string) (TopicInfo, error) {
	res, err := a.DescribeTopics(ctx, ckafka.NewTopicCollectionOfTopicNames([]string{topic}))
	if err != nil {
		return TopicInfo{}, &TopicError{Topic: topic, Op: "describe", Err: err}
	}
	if len(res.TopicDescriptions) != 1 {
		return TopicInfo{}, &TopicError{Topic: topic, Op: "describe", Err: errors.New("no description returned")}
	}
	d := res.TopicDescriptions[0]
	if d.Error.Code() != ckafka.ErrNoError {
		return TopicInfo{}, &TopicError{Topic: topic, Op: "describe", Err: d.Error}
	}
	info := TopicInfo{Name: d.Name, Partitions: len(d.Partitions)}
	if d.TopicID.GetMostSignificantBits() == 0 && d.TopicID.GetLeastSignificantBits() == 0 {
		return info, &TopicError{Topic: topic, Op: "describe", Err: ErrNoTopicID}
	}
	info.ID = d.TopicID.String()
	return info, nil
}
