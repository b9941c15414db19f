package kafka

import (
	"context"
	"errors"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Ping connects to cfg's brokers and asks for the cluster's metadata. It
// returns nil once a broker answered, and a *ConnectError as soon as the
// client reports that the brokers refused it (SASL authentication, the TLS
// handshake), or when ctx ends first: then with the last error the client
// reported, if any. A daemon pings at start so wrong credentials fail it
// at once with librdkafka's reason, instead of its clients retrying them
// in the background.
func Ping(ctx context.Context, cfg Config) error {
	m, err := cfg.finish(cfg.base())
	if err != nil {
		return err
	}
	m["go.delivery.reports"] = false
	p, err := ckafka.NewProducer(m.client())
	if err != nil {
		return &ClientError{Kind: "producer", Err: err}
	}
	defer p.Close()
	var last error
	for {
		md, err := p.GetMetadata(nil, false, 250)
		if err == nil && len(md.Brokers) > 0 {
			return nil
		}
		for drained := false; !drained; {
			select {
			case ev := <-p.Events():
				if ke, ok := ev.(ckafka.Error); ok {
					last = newError(ke)
					if refused(ke) {
						return &ConnectError{Brokers: cfg.Brokers, Err: last}
					}
				}
			default:
				drained = true
			}
		}
		if ctx.Err() != nil {
			if last == nil {
				last = wrap(err)
			}
			return &ConnectError{Brokers: cfg.Brokers, Err: errors.Join(ctx.Err(), last)}
		}
	}
}

// refused reports client errors that retrying with the same settings does
// not cure.
func refused(e ckafka.Error) bool {
	switch e.Code() {
	case ckafka.ErrAuthentication, ckafka.ErrSsl, ckafka.ErrSaslAuthenticationFailed,
		ckafka.ErrUnsupportedSaslMechanism, ckafka.ErrIllegalSaslState:
		return true
	}
	return false
}
