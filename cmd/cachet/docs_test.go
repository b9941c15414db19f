package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// emptyEnv clears every declared variable for the test, so flag defaults
// are those of an empty environment, as `make docs` writes them.
func emptyEnv(t *testing.T) {
	t.Helper()
	for _, v := range envVars {
		t.Setenv(v.Name, "")
	}
}

// The committed configuration reference is what the command tree writes.
func TestConfigDocIsCurrent(t *testing.T) {
	emptyEnv(t)
	var want bytes.Buffer
	if err := writeConfigDoc(&want, newRootCmd()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", configDocPath))
	if err != nil {
		t.Fatalf("%v: run `make docs`", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s disagrees with cachet's flags: run `make docs`\nline %d committed: %q\nline %d flags say:  %q", configDocPath, i+1, g, i+1, w)
			}
		}
	}
}

// `cachet docs config` prints the page the test above compares.
func TestDocsConfigCommand(t *testing.T) {
	emptyEnv(t)
	t.Setenv("CACHET_BROKERS", "elsewhere:9092") // the page shows defaults of an empty environment
	out, errOut, code := runCachet(t, "docs", "config")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var want bytes.Buffer
	t.Setenv("CACHET_BROKERS", "")
	if err := writeConfigDoc(&want, newRootCmd()); err != nil {
		t.Fatal(err)
	}
	if out != want.String() {
		t.Errorf("cachet docs config printed a page other than writeConfigDoc's with an empty environment")
	}
	if strings.Contains(out, "elsewhere:9092") {
		t.Errorf("the page shows a default taken from the environment")
	}
}

var envNameRE = regexp.MustCompile(`\b(CACHET|OTEL)_[A-Z_]+\b`)

// Every declared variable is named by some flag's help, and every variable
// a flag's help names is declared: the reference's "read by" column
// comes from the help texts.
func TestEnvVarsMatchHelp(t *testing.T) {
	declared := map[string]bool{}
	for _, v := range envVars {
		if declared[v.Name] {
			t.Errorf("%s declared twice", v.Name)
		}
		declared[v.Name] = true
	}
	named := map[string]bool{}
	for _, c := range visibleCommands(newRootCmd()) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			for _, n := range envNameRE.FindAllString(f.Usage, -1) {
				named[n] = true
				if !declared[n] {
					t.Errorf("%s --%s names %s, which envVars does not declare", c.CommandPath(), f.Name, n)
				}
			}
		})
	}
	for n := range declared {
		if !named[n] {
			t.Errorf("%s is declared but no flag's help names it", n)
		}
	}
}

// Variables are read through getenv only, so none escapes the table.
func TestEnvReadThroughTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	direct := regexp.MustCompile(`os\.(Getenv|LookupEnv|Environ)\(`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "env.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := direct.FindIndex(src); loc != nil {
			t.Errorf("%s:%d reads the environment directly: use getenv and declare the variable in envVars", f, bytes.Count(src[:loc[0]], []byte("\n"))+1)
		}
	}
}

func TestGetenvRefusesUndeclared(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("getenv of an undeclared variable did not panic")
		}
	}()
	getenv("CACHET_NO_SUCH_VARIABLE")
}
