package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X main.version=..."); the module
// version is used otherwise.
var version = ""

func init() {
	register(command{name: "version", summary: "print cachet's version", run: func(_ context.Context, _ []string, w io.Writer) error {
		v := version
		if v == "" {
			if bi, ok := debug.ReadBuildInfo(); ok {
				v = bi.Main.Version
			}
		}
		_, err := fmt.Fprintln(w, "cachet", v)
		return err
	}})
}
