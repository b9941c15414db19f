package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cachetsync/cachet/push"
)

// protocol is how a client of one server under test subscribes and what a
// delivery looks like on the wire.
type protocol struct {
	// hello is the first message: a subscription to channels.
	hello func(channels []string) ([]byte, error)
	// welcome reports whether msg accepts the hello.
	welcome func(msg []byte) bool
	// pong is the answer msg needs (nil: none).
	pong func(msg []byte) []byte
}

// tsField precedes the produce time in both servers' deliveries: the
// transition's "ts", which the load generator sets when it produces.
var tsField = []byte(`"ts":"`)

// producedAt returns the produce time in one delivery.
func producedAt(msg []byte) (time.Time, bool) {
	i := bytes.Index(msg, tsField)
	if i < 0 {
		return time.Time{}, false
	}
	rest := msg[i+len(tsField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}

// protocolFor returns target's protocol; batch asks push for batched
// frames (Centrifugo merges a lagging client's messages by itself).
func protocolFor(target, secret string, batch bool) (protocol, error) {
	switch target {
	case "push":
		return pushProtocol(secret, batch), nil
	case "centrifugo":
		return centrifugoProtocol(secret), nil
	}
	return protocol{}, fmt.Errorf("unknown target %q (want push or centrifugo)", target)
}

// pushProtocol speaks Cachet's push protocol (push/PROTOCOL.md), with
// batched frames when batch is set.
func pushProtocol(secret string, batch bool) protocol {
	return protocol{
		hello: func(chs []string) ([]byte, error) {
			tok, err := push.Minter{Secret: []byte(secret), Subject: "pushload", TTL: time.Hour}.Mint(chs)
			if err != nil {
				return nil, err
			}
			return json.Marshal(push.ClientFrame{T: push.TypeHello, V: push.ProtocolVersion, Token: tok, Channels: chs, Batch: batch})
		},
		welcome: func(msg []byte) bool { return bytes.Contains(msg, []byte(`"t":"welcome"`)) },
		pong:    func([]byte) []byte { return nil }, // WebSocket and push pings need no answer
	}
}

// centrifugoProtocol speaks Centrifugo's JSON client protocol: a connect
// command whose token subscribes the connection to its channel on the
// server side, pushes as {"push":{"channel":..,"pub":{"data":..}}}, and
// empty-object pings that must be answered with an empty object.
func centrifugoProtocol(secret string) protocol {
	return protocol{
		hello: func(chs []string) ([]byte, error) {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"sub": "pushload", "exp": time.Now().Add(time.Hour).Unix(), "channels": chs,
			}).SignedString([]byte(secret))
			if err != nil {
				return nil, err
			}
			return json.Marshal(map[string]any{"id": 1, "connect": map[string]any{"token": tok}})
		},
		welcome: func(msg []byte) bool { return bytes.Contains(msg, []byte(`"id":1,"connect"`)) },
		pong: func(msg []byte) []byte {
			if bytes.Equal(bytes.TrimSpace(msg), []byte("{}")) {
				return []byte("{}")
			}
			return nil
		},
	}
}

// channelName is channel c of the bench, the same on both servers: the
// origin channel of https://shopC.example.
func channelName(c int) string { return fmt.Sprintf("origin:https://shop%d.example", c) }

// keyFor is a cache key on channel c.
func keyFor(c, i int) string { return fmt.Sprintf("https://shop%d.example/item/%d", c, i) }

// sharedChannel is the channel every connection of the scale bench also
// subscribes to, for one-channel fan-out; sharedKey is a key on it.
const sharedChannel = "origin:https://all.example"

func sharedKey(i int) string { return fmt.Sprintf("https://all.example/item/%d", i) }
