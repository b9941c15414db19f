package deploy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestArgsAcceptedByBinaries builds cachet and cachet-chaincode from this
// checkout and has their own flag sets parse every container's arguments:
// `<program> <args…> -h` parses each flag (and its value) in order and
// stops at -h before running anything. Every CACHET_*, CHAINCODE_* and
// OTEL_* variable a container sets must be one its program reads, as its
// flags' help says.
func TestArgsAcceptedByBinaries(t *testing.T) {
	bin := binaries(t)
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			b := build(t, o)
			for _, d := range b.deployments {
				for _, c := range d.Spec.Template.Spec.Containers {
					t.Run(c.Name, func(t *testing.T) { checkArgs(t, bin, &c) })
				}
			}
		})
	}
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binaries builds cachet and cachet-chaincode once per test run into a
// folder TestMain removes.
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "cachet-deploy-test"); binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/cachet", "./cmd/cachet-chaincode")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// daemons are the cachet subcommands a cluster runs.
var daemons = [][]string{{"relay"}, {"push"}, {"analytics", "run"}}

var envMention = regexp.MustCompile(`\b(?:CACHET|CHAINCODE|OTEL)_[A-Z_]+\b`)

func checkArgs(t reporter, bin string, c *corev1.Container) {
	program := filepath.Join(bin, "cachet")
	var sub []string
	if len(c.Command) > 0 {
		program = filepath.Join(bin, filepath.Base(c.Command[0]))
	} else {
		for _, d := range daemons {
			if len(c.Args) >= len(d) && slices.Equal(c.Args[:len(d)], d) {
				sub = d
			}
		}
		if sub == nil {
			t.Errorf("args %v run no cachet daemon (want one of %v)", c.Args, daemons)
			return
		}
	}
	flags := c.Args[len(sub):]
	seen, bad := map[string]bool{}, false
	for _, a := range flags {
		// --name=value only: a bare word would end flag parsing and run the command.
		name, _, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(name, "--") {
			t.Errorf("argument %q: write flags as --name=value", a)
			bad = true
		}
		if seen[name] {
			t.Errorf("flag %s given twice", name)
			bad = true
		}
		seen[name] = true
	}
	if bad {
		return
	}
	help := run(program, append(slices.Clone(sub), "-h"))
	out := run(program, append(slices.Clone(c.Args), "-h"))
	if out != help {
		t.Errorf("%s %s rejected the arguments:\n%s", filepath.Base(program), strings.Join(c.Args, " "), out)
	}
	read := map[string]bool{}
	for _, m := range envMention.FindAllString(help, -1) {
		read[m] = true
	}
	for _, e := range c.Env {
		if envMention.MatchString(e.Name) && !read[e.Name] {
			t.Errorf("env %s: %s %s does not read it (its help names %v)", e.Name, filepath.Base(program), strings.Join(sub, " "), keys(read))
		}
	}
}

// run returns what program prints for args ending in -h. cachet exits 0
// after the help; cachet-chaincode reports "help requested" and exits 1;
// anything else is a parse error, shown in the output.
func run(program string, args []string) string {
	out, err := exec.Command(program, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && strings.Contains(string(out), "flag: help requested"):
	default:
		return string(out) + "\n(" + err.Error() + ")"
	}
	return string(out)
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
