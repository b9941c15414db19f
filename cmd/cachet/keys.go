package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cachetsync/cachet/cachekey"
)

// canonicalKey checks a key given on the command line before anything is
// sent: the error is the *cachekey.Error naming the rule that failed.
func canonicalKey(raw string) (string, error) {
	return cachekey.Canonical(raw)
}

// canonicalKeys canonicalizes every key, failing on the first bad one.
func canonicalKeys(raw []string) ([]string, error) {
	out := make([]string, len(raw))
	for i, k := range raw {
		c, err := canonicalKey(k)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// keyLineError reports a line of a --from-file that holds no valid key.
type keyLineError struct {
	File string
	Line int
	Err  error
}

func (e *keyLineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *keyLineError) Unwrap() error { return e.Err }

// maxKeyLine bounds a --from-file line: a key's longest input, plus
// surrounding blanks.
const maxKeyLine = cachekey.MaxInputBytes + 256

// readKeys reads one key per line from path ("-": stdin), skipping blank
// lines and # comments, canonicalizing each; a bad or over-long line is a
// *keyLineError naming its line, and nothing is returned.
func readKeys(path string, stdin io.Reader) ([]string, error) {
	r, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageWrap{fmt.Errorf("--from-file: %w", err)}
		}
		defer f.Close()
		r, name = f, path
	}
	var keys []string
	br := bufio.NewReaderSize(r, maxKeyLine+1)
	for line := 1; ; line++ {
		b, isPrefix, err := br.ReadLine()
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if isPrefix {
			return nil, usageWrap{&keyLineError{File: name, Line: line, Err: fmt.Errorf("line longer than %d bytes", maxKeyLine)}}
		}
		k := strings.TrimSpace(string(b))
		if k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		c, err := cachekey.Canonical(k)
		if err != nil {
			return nil, usageWrap{&keyLineError{File: name, Line: line, Err: err}}
		}
		keys = append(keys, c)
	}
}
