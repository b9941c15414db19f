package produce

import (
	"errors"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/record"
)

func TestWithVersion(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"key":"ns:a"}`, `{"v":1,"key":"ns:a"}`},
		{`{"v":2,"key":"ns:a"}`, `{"v":2,"key":"ns:a"}`},
		{`{}`, `{"v":1}`},
		{` { } `, `{"v":1 }`},
		{`[1]`, `[1]`},
		{`not json`, `not json`},
	}
	for _, c := range cases {
		if got := string(withVersion([]byte(c.in))); got != c.want {
			t.Errorf("withVersion(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestMessage checks that each topic's lines become the record and the
// message key its owning daemon writes, and that bad lines are refused
// with a typed cause.
func TestMessage(t *testing.T) {
	cases := []struct {
		name, topic, line string
		key               string // message key on success
		value             string // substring of the encoded value
		err               func(error) bool
	}{
		{name: "transition", topic: record.TopicTransitions, line: `{"key":"https://shop.example/a","version":2,"state":"INVALIDATED","owner":"Org1MSP","txId":"t"}`,
			key: "https://shop.example/a", value: `"state":"INVALIDATED"`},
		{name: "purge keyed by scope", topic: record.TopicPurges, line: `{"scope":"tag","value":"catalog","owner":"Org1MSP","generation":3,"soft":true,"txId":"t"}`,
			key: "tag:catalog", value: `"soft":true`},
		{name: "advice", topic: record.TopicAdvice, line: `{"key":"https://shop.example/a","at":"2026-01-01T00:00:00Z","action":"pin","engine":"cpu","recommendedMaxAge":60}`,
			key: "https://shop.example/a", value: `"action":"pin"`},
		{name: "transition bad key", topic: record.TopicTransitions, line: `{"key":"ftp://x/","version":1,"state":"VALID","txId":"t"}`,
			err: func(err error) bool { return strings.Contains(err.Error(), "unsupported-scheme") }},
		{name: "purge unknown scope", topic: record.TopicPurges, line: `{"scope":"everything","value":"x","owner":"Org1MSP","generation":1,"txId":"t"}`,
			err: func(err error) bool { var e *record.InvalidError; return errors.As(err, &e) }},
		{name: "purge generation 0", topic: record.TopicPurges, line: `{"scope":"tag","value":"x","owner":"Org1MSP","generation":0,"txId":"t"}`,
			err: func(err error) bool { var e *record.InvalidError; return errors.As(err, &e) }},
		{name: "future version", topic: record.TopicPurges, line: `{"v":9,"scope":"tag","value":"x","owner":"Org1MSP","generation":1,"txId":"t"}`,
			err: func(err error) bool { var e *record.UnsupportedVersionError; return errors.As(err, &e) && e.Got == 9 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Message(c.topic, []byte(c.line))
			if c.err != nil {
				if err == nil || !c.err(err) {
					t.Fatalf("err = %v, want the typed refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Key) != c.key || m.Topic != c.topic || !strings.Contains(string(m.Value), c.value) || !strings.Contains(string(m.Value), `"v":1`) {
				t.Fatalf("message = %s %s %s", m.Topic, m.Key, m.Value)
			}
		})
	}
}
