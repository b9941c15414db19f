package push_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type sseEvent struct {
	id, event string
	m         msg
}

// sseStream opens /sse and returns a channel of events.
func sseStream(t *testing.T, srv *server, tok, lastID string, channels ...string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	q := url.Values{"channels": {strings.Join(channels, ",")}}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.http.URL+"/sse?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan sseEvent, 1000)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				json.Unmarshal([]byte(line[6:]), &ev.m)
			}
		}
	}()
	return out, resp
}

func nextEvent(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.event != "ping" {
				return ev
			}
		case <-ctx.Done():
			t.Fatal("no event in time")
		}
	}
}

// TestSSEResumeWithLastEventID: an SSE client resumes from its last event
// id after a disconnect with nothing lost or repeated, also when it missed
// more than its send buffer holds; a bad token is a 401.
func TestSSEResumeWithLastEventID(t *testing.T) {
	b := startBroker(t, 2)
	srv := startServer(t, b, nil)
	pr := newProducer(t, b)
	tok := token(t, []string{shopCh}, nil)
	ch, resp := sseStream(t, srv, tok, "", shopCh)
	if w := nextEvent(t, ch); w.event != "welcome" || w.id == "" {
		t.Fatalf("got %+v, want welcome with an id", w)
	}
	first := pr.sendMany(keysFor("sse-a", 10))
	var got []msg
	var last string
	for range 10 {
		ev := nextEvent(t, ch)
		if ev.event != "transition" || ev.id != ev.m.Pos {
			t.Fatalf("got %+v, want a transition whose id is its position", ev)
		}
		got, last = append(got, ev.m), ev.id
	}
	sameSet(t, "first", got, trKeys(first))
	resp.Body.Close()

	// More than half the send buffer: the replay is written while the
	// stream is still being subscribed.
	missed := pr.sendMany(keysFor("sse-b", 1000))
	eventually(t, "the server consumed the records", func() bool { return metricValue(t, srv, "cachet_push_consumed_total") == 1010 })
	ch2, _ := sseStream(t, srv, tok, last, shopCh)
	if w := nextEvent(t, ch2); w.event != "welcome" || !w.m.Resumed {
		t.Fatalf("got %+v, want resumed welcome", w)
	}
	got = got[:0]
	for range len(missed) {
		got = append(got, nextEvent(t, ch2).m)
	}
	sameSet(t, "replay", got, trKeys(missed))

	_, bad := sseStream(t, srv, "forged", "", shopCh)
	if bad.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: status %d, want 401", bad.StatusCode)
	}
}
