package push_test

import (
	"fmt"
	"slices"
	"testing"
)

// TestFanOutByOriginAndTag: a subscriber gets exactly the transitions on its
// channels, once each even when origin and tag both match, in order.
func TestFanOutByOriginAndTag(t *testing.T) {
	b := startBroker(t, 3)
	srv := startServer(t, b, nil)
	shop := subscribe(t, srv.url, "", "origin:https://shop.example", "tag:catalog")
	news := subscribe(t, srv.url, "", "origin:https://news.example")
	tagOnly := subscribe(t, srv.url, "", "tag:catalog")
	for _, c := range []*client{shop, news, tagOnly} {
		if w := c.next(); w.T != "welcome" || w.Resumed {
			t.Fatalf("first frame %+v, want a fresh welcome", w)
		}
	}
	pr := newProducer(t, b)
	var wantShop, wantNews, wantTag []string
	for i := range 30 {
		switch i % 3 {
		case 0: // shop origin and catalog tag: one delivery to shop
			tr := pr.send(fmt.Sprintf("https://shop.example/p/%d", i), "catalog")
			wantShop = append(wantShop, fmt.Sprintf("%s@%d", tr.Key, tr.Version))
			wantTag = append(wantTag, fmt.Sprintf("%s@%d", tr.Key, tr.Version))
		case 1:
			tr := pr.send(fmt.Sprintf("https://news.example/a/%d", i))
			wantNews = append(wantNews, fmt.Sprintf("%s@%d", tr.Key, tr.Version))
		case 2: // another origin, catalog tag: shop (by tag) and tagOnly
			tr := pr.send(fmt.Sprintf("https://cdn.example/i/%d", i), "catalog", "images")
			wantShop = append(wantShop, fmt.Sprintf("%s@%d", tr.Key, tr.Version))
			wantTag = append(wantTag, fmt.Sprintf("%s@%d", tr.Key, tr.Version))
		}
	}
	pr.send("https://other.example/x") // nobody's channel
	for _, tc := range []struct {
		name string
		c    *client
		want []string
	}{{"shop", shop, wantShop}, {"news", news, wantNews}, {"tag", tagOnly, wantTag}} {
		got := tc.c.collect(len(tc.want))
		// Order holds per key (per partition); compare as sets of unique deliveries.
		g := keys(got)
		slices.Sort(g)
		w := slices.Clone(tc.want)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s got %v, want %v", tc.name, g, w)
		}
		for _, m := range got {
			if m.Pos == "" || m.Trace == "" {
				t.Errorf("%s: delivery without position or traceparent: %+v", tc.name, m)
			}
		}
	}
	// Nothing more arrives: a marker transition on each channel comes next.
	pr.send("https://shop.example/end")
	pr.send("https://news.example/end")
	pr.send("https://cdn.example/end", "catalog")
	for _, tc := range []struct {
		c    *client
		want string
	}{{shop, "https://shop.example/end"}, {news, "https://news.example/end"}, {tagOnly, "https://cdn.example/end"}} {
		if m := tc.c.next(); m.Key != tc.want {
			t.Errorf("got %s (duplicate or stray delivery), want %s", m.Key, tc.want)
		}
	}
}
