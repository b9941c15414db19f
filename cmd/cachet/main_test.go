package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// cachet runs a command line on a fresh command tree, its output to
// stdout, and returns the command's error.
func cachet(ctx context.Context, args []string, stdout io.Writer) error {
	_, err := runArgs(ctx, args, stdout, io.Discard)
	return err
}

// runAnalytics runs `cachet analytics args…`.
func runAnalytics(ctx context.Context, args []string, stdout io.Writer) error {
	return cachet(ctx, append([]string{"analytics"}, args...), stdout)
}

// runCachet runs a command line as main does and returns what it printed
// and its exit status.
func runCachet(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestRoot(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{nil, 0, "Ledger commands:", ""},
		{[]string{"--help"}, 0, "invalidate-tag", ""},
		{[]string{"version"}, 0, "cachet ", ""},
		{[]string{"--version"}, 0, "(commit ", ""},
		{[]string{"no-such"}, exitUsage, "", `unknown command "no-such"`},
		{[]string{"get", "--no-such-flag", "ns:a"}, exitUsage, "", "unknown flag: --no-such-flag"},
		{[]string{"completion", "bash"}, 0, "bash completion", ""},
		{[]string{"completion", "zsh"}, 0, "compdef", ""},
		{[]string{"completion", "fish"}, 0, "complete -c cachet", ""},
	}
	for _, tt := range tests {
		out, errOut, code := runCachet(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
			t.Errorf("cachet %q: exit %d, stdout %.200q, stderr %q; want exit %d, %q, %q", tt.args, code, out, errOut, tt.code, tt.out, tt.err)
		}
	}
}

// Every command has a one-line description and examples in its help.
func TestEveryCommandHasHelp(t *testing.T) {
	walk := func(path []string) {
		out, _, code := runCachet(t, append(path, "--help")...)
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("cachet %s --help: exit %d, no Examples:\n%s", strings.Join(path, " "), code, out)
		}
	}
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Short == "" || strings.Contains(c.Short, "\n") {
			t.Errorf("%s: want a one-line description, got %q", c.Name(), c.Short)
		}
		walk([]string{c.Name()})
		for _, sub := range c.Commands() {
			walk([]string{c.Name(), sub.Name()})
		}
	}
}
