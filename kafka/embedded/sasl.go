package embedded

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cachetsync/cachet/kafka"
)

// WithSASL makes the embedded broker accept only clients that authenticate
// with SASL mechanism mech as user/pass (over plaintext: sasl_plaintext),
// and makes Config return those credentials. Tests use it to run Cachet's
// clients with SASL against a real broker.
func WithSASL(mech kafka.SASLMechanism, user, pass string) Option {
	return func(c *embeddedConfig) {
		c.sasl = &kafka.Config{SecurityProtocol: kafka.SASLPlaintext, SASLMechanism: mech, SASLUsername: user, SASLPassword: pass}
	}
}

// saslOpts are the kfake options of a SASL-only broker with one user.
func (c *embeddedConfig) saslOpts() ([]kfake.Opt, error) {
	if c.sasl == nil {
		return nil, nil
	}
	if err := (kafka.Config{Brokers: "embedded", SecurityProtocol: c.sasl.SecurityProtocol, SASLMechanism: c.sasl.SASLMechanism,
		SASLUsername: c.sasl.SASLUsername, SASLPassword: c.sasl.SASLPassword}).Validate(); err != nil {
		return nil, err
	}
	return []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(string(c.sasl.SASLMechanism), c.sasl.SASLUsername, c.sasl.SASLPassword)}, nil
}

// AdvertiseHandshakeV0 makes cl list SaslHandshake from version 0 in its
// ApiVersions answers. librdkafka authenticates only with brokers whose
// SaslHandshake range includes v0, as every Kafka broker's does; kfake
// serves v1 alone (the only version librdkafka sends after v0 was
// announced). dial connects to the broker (TLS included) for kfake's own
// answer, which the control then repeats with the range widened. Start
// applies it to a broker started WithSASL; tests that build a kfake cluster
// of their own (with TLS) call it themselves.
func AdvertiseHandshakeV0(cl *kfake.Cluster, dial func() (net.Conn, error)) error {
	keys, err := apiVersions(dial)
	if err != nil {
		return fmt.Errorf("kafka: embedded broker's API versions: %w", err)
	}
	for i := range keys {
		if keys[i].ApiKey == int16(kmsg.SASLHandshake) {
			keys[i].MinVersion = 0
		}
	}
	cl.ControlKey(int16(kmsg.ApiVersions), func(r kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		req := r.(*kmsg.ApiVersionsRequest)
		if req.Version > 3 {
			return nil, nil, false // not what librdkafka sends: kfake answers
		}
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = append([]kmsg.ApiVersionsResponseApiKey(nil), keys...)
		return resp, nil, true
	})
	return nil
}

// apiVersions asks a broker for its API versions (ApiVersions v0, which
// needs no authentication).
func apiVersions(dial func() (net.Conn, error)) ([]kmsg.ApiVersionsResponseApiKey, error) {
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("cachet-embedded")).AppendRequest(nil, req, 1)); err != nil {
		return nil, err
	}
	var head [8]byte // size, correlation ID
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(head[:4])-4)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, err
	}
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return nil, fmt.Errorf("error code %d", resp.ErrorCode)
	}
	return resp.ApiKeys, nil
}
