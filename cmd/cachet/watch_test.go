package main

import (
	"context"
	"io"
	"reflect"
	"testing"
)

func TestWatchSourceSelection(t *testing.T) {
	var got []string
	watchSources["fake"] = command{name: "fake", run: func(_ context.Context, args []string, _ io.Writer) error { got = args; return nil }}
	defer delete(watchSources, "fake")
	tests := []struct {
		args   []string
		ok     bool
		remain []string
	}{
		{[]string{"--fake", "--json"}, true, []string{"--json"}},
		{[]string{"--json", "-fake", "x"}, true, []string{"--json", "x"}},
		{[]string{"--json"}, false, nil},
		{[]string{"fake"}, false, nil},
		{[]string{"--", "--fake"}, false, nil},
	}
	for _, tt := range tests {
		src, rest, ok := watchSource(tt.args)
		if ok != tt.ok || (ok && !reflect.DeepEqual(rest, tt.remain)) {
			t.Errorf("watchSource(%q) = %v, %q; want %v, %q", tt.args, ok, rest, tt.ok, tt.remain)
			continue
		}
		if ok {
			src.run(context.Background(), rest, io.Discard)
			if !reflect.DeepEqual(got, tt.remain) {
				t.Errorf("source got %q", got)
			}
		}
	}
}
