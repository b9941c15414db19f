package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/telemetry"
)

// logFlags are the daemons' logging flags: --log-format and --log-level.
type logFlags struct {
	format string
	level  slog.Level
}

// register defines the flags; level is the default level.
func (l *logFlags) register(fs *pflag.FlagSet, level slog.Level) {
	l.level = level
	fs.StringVar(&l.format, "log-format", "text", "log line format on stderr: text or json")
	fs.Var((*levelFlag)(&l.level), "log-level", "least severe level logged: debug, info, warn or error")
}

// logger returns the logger the flags describe, writing to w; each line
// logged inside a span carries its trace_id and span_id.
func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: l.level}
	var h slog.Handler
	switch l.format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usagef("--log-format %q: want text or json", l.format)
	}
	return slog.New(telemetry.NewLogHandler(h)), nil
}

// levelFlag is a slog.Level as a flag value.
type levelFlag slog.Level

func (f *levelFlag) String() string { return strings.ToLower(slog.Level(*f).String()) }
func (f *levelFlag) Type() string   { return "level" }
func (f *levelFlag) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return err
	}
	*f = levelFlag(l)
	return nil
}
