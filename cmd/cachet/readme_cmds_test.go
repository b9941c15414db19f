package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shellWords splits a command line as sh would for the plain lines the
// READMEs show: words, single and double quotes, a trailing # comment.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	in, quote, started := false, byte(0), false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '\'' || c == '"':
			quote, started = c, true
		case c == ' ' || c == '\t':
			if started {
				words = append(words, w.String())
				w.Reset()
				started = false
			}
		case c == '#' && !started:
			in = true
		default:
			w.WriteByte(c)
			started = true
		}
		if in {
			break
		}
	}
	if started {
		words = append(words, w.String())
	}
	return words
}

// Every `cachet` command line the READMEs show names a command and flags
// the command tree has (GNU-style: --flag), so a reader can paste it.
func TestReadmeCommandLinesParse(t *testing.T) {
	block := regexp.MustCompile("(?s)```sh\n(.*?)```")
	n := 0
	for _, doc := range []string{"README.md", "network/README.md", "push/README.md", "deploy/README.md", "analytics/README.md", "sdk/README.md", "chaincode/README.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(b), -1) {
			for _, line := range strings.Split(m[1], "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, ".bin/cachet ") && !strings.HasPrefix(line, "cachet ") {
					continue
				}
				if strings.ContainsAny(line, "<|") || strings.Contains(line, "$(") {
					line = strings.Split(strings.Split(line, "<")[0], "|")[0] // the command before a redirect or pipe
				}
				args := shellWords(line)[1:]
				root := newRootCmd()
				cmd, rest, err := root.Find(args)
				if err != nil || cmd == root {
					t.Errorf("%s: %q: no such command (%v)", doc, line, err)
					continue
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%s: %q: %v", doc, line, err)
				}
				n++
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d cachet command lines in the READMEs", n)
	}
	t.Logf("%d command lines parse", n)
}
