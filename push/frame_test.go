package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cachetsync/cachet/record"
)

func TestParseClientFrame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want string
	}{
		{`{"t":"hello","v":1,"token":"x","channels":["origin:https://a.example","tag:b"]}`, true, TypeHello},
		{`{"t":"hello","v":1,"channels":["tag:b"]}`, false, ""},
		{`{"t":"hello","v":1,"token":"x","channels":["origin:https://a.example/path"]}`, false, ""},
		{`{"t":"hello","v":1,"token":"x","channels":["origin:ftp://a"]}`, false, ""},
		{`{"t":"hello","v":1,"token":"x","channels":["shop"]}`, false, ""},
		{`{"t":"refresh","token":"y"}`, true, TypeRefresh},
		{`{"t":"ping"}`, true, TypePing},
		{`{"t":"receipts","reads":[]}`, true, TypeReceipts},
		{`{"t":"receipts","reads":[{"kind":"hit"},5]}`, true, TypeReceipts}, // reads are checked one by one later
		{`{"t":"receipts"}`, false, ""},
		{`{"t":"receipts","reads":null}`, false, ""},
		{`{"t":"receipts","reads":{"kind":"hit"}}`, false, ""},
		{`{"t":"span","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","name":"cachet.sdk.evict","startMs":1.5,"endMs":2,"attributes":{"a":"b"}}`, true, TypeSpan},
		{`{"t":"span","name":"cachet.sdk.evict"}`, false, ""},
		{`{"t":"span","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`, false, ""},
		{`{"t":"span","traceparent":"x","name":"y","attributes":{"n":1}}`, false, ""},
		{`{"t":"ping"} {"t":"ping"}`, false, ""},
		{`{"t":"launch"}`, false, ""},
		{`{}`, false, ""},
		{`[`, false, ""},
	} {
		f, err := ParseClientFrame([]byte(tc.in))
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		var fe *FrameError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("%s: error %T is not a *FrameError", tc.in, err)
		}
		if tc.ok && f.T != tc.want {
			t.Errorf("%s: type %q, want %q", tc.in, f.T, tc.want)
		}
	}
}

func TestPositionRoundTrip(t *testing.T) {
	p := Position{Epoch: Epoch("abc", 3), Channels: ChannelHash([]string{"tag:b", "tag:a"}), Offsets: []int64{0, 17, 123456789}}
	q, err := ParsePosition(p.String())
	if err != nil || q.String() != p.String() || q.Channels != ChannelHash([]string{"tag:a", "tag:b"}) {
		t.Fatalf("round trip %q → %+v, %v", p, q, err)
	}
	if Epoch("abc", 3) == Epoch("abc", 4) || Epoch("abc", 3) == Epoch("abd", 3) {
		t.Fatal("epoch ignores topic ID or partition count")
	}
	for _, bad := range []string{"", "p2~0123456789abcdef~01234567~1", "p1~0123456789abcdef~01234567~-1",
		"p1~0123456789abcdef~01234567~01", "p1~0123456789ABCDEF~01234567~1", "p1~0123456789abcdef~0123~1"} {
		if _, err := ParsePosition(bad); !errors.Is(err, ErrBadPosition) {
			t.Errorf("%q: err = %v, want ErrBadPosition", bad, err)
		}
	}
}

func FuzzParseClientFrame(f *testing.F) {
	for _, s := range []string{`{"t":"hello","v":1,"token":"x","channels":["tag:a"],"pos":"p1~0123456789abcdef~01234567~1.2"}`,
		`{"t":"refresh","token":"y"}`, `{"t":"ping"}`, `{"t":"receipts","reads":[{"kind":"hit"}]}`, `{`, `null`,
		`{"t":"span","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","name":"cachet.sdk.evict","startMs":1.5,"endMs":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseClientFrame(b)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FrameError", err)
			}
			return
		}
		if fr.T == TypeReceipts {
			var reads []json.RawMessage
			if json.Unmarshal(fr.Reads, &reads) != nil || reads == nil || len(reads) > MaxReadsPerFrame {
				t.Fatalf("accepted receipts whose reads are not an array of at most %d: %s", MaxReadsPerFrame, fr.Reads)
			}
		}
		if fr.T == TypeHello {
			for _, c := range fr.Channels {
				if ValidChannel(c) != nil {
					t.Fatalf("accepted hello with bad channel %q", c)
				}
			}
			if fr.Pos != "" {
				if p, err := ParsePosition(fr.Pos); err == nil && p.String() != fr.Pos {
					t.Fatalf("position %q re-encodes as %q", fr.Pos, p.String())
				}
			}
		}
	})
}

// TestFrameBodiesCarryTheRecord checks that transition and purge frames
// carry every field of their record except the schema version and channel,
// which belong to the connection.
func TestFrameBodiesCarryTheRecord(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := record.Transition{V: record.Version, Channel: "cachet", Position: record.Position{Block: 7, TxIndex: 2}, TxID: "tx",
		Timestamp: ts, Key: "https://shop.example/a", Version: 3, State: record.StateInvalidated, ETag: `"e"`, MaxAge: 60,
		Tags: []string{"t"}, Owner: "Org1MSP", Actor: "Org2MSP", Reason: "r", Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	g := record.Generation{V: record.Version, Channel: "cachet", Position: record.Position{Block: 8}, TxID: "tx2", Timestamp: ts,
		Purge: record.Purge{Scope: record.Scope{Kind: record.ScopeTag, Value: "t"}, Owner: "Org1MSP", Generation: 4, Soft: true, Reason: "r"},
		Actor: "Org1MSP"}
	for _, c := range []struct {
		typ  string
		body []byte
		rec  any
		into any
	}{
		{TypeTransition, encodeTransitionBody(tr), tr, &record.Transition{}},
		{TypePurge, encodePurgeBody(g), g, &record.Generation{}},
	} {
		b := frameBytes(c.typ, []byte("p1~x"), c.body)
		if bytes.Contains(b, []byte(`"v":`)) || bytes.Contains(b, []byte(`"channel":`)) {
			t.Errorf("%s frame carries v or channel: %s", c.typ, b)
		}
		if err := json.Unmarshal(b, c.into); err != nil {
			t.Fatalf("%s frame %s: %v", c.typ, b, err)
		}
		want := reflect.ValueOf(c.rec)
		got := reflect.ValueOf(c.into).Elem()
		got.FieldByName("V").SetInt(record.Version)
		got.FieldByName("Channel").SetString("cachet")
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s frame decodes to %+v, want %+v", c.typ, got.Interface(), want.Interface())
		}
	}
}
