package monitoring

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite prometheusrule.yaml from rules/*.yaml")

// ruleFiles lists the rule files (rules/*.yaml without their unit tests),
// sorted.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob("rules/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if !strings.HasSuffix(f, "_test.yaml") {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no rule files in rules/")
	}
	return files
}

const prometheusRuleHeader = `# Generated from rules/*.yaml (cd deploy/monitoring && go test -run PrometheusRule -update):
# edit the rule files, not this.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: cachet
  labels:
    app.kubernetes.io/name: cachet
spec:
  groups:
`

// renderPrometheusRule returns a PrometheusRule whose spec.groups are the
// groups of every file, in order, comments kept: each file's lines after
// its top-level "groups:" line, indented under spec.
func renderPrometheusRule(t *testing.T, files []string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(prometheusRuleHeader)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		before, after, ok := strings.Cut(string(src), "\ngroups:\n")
		if !ok || strings.Contains(after, "\ngroups:") || strings.HasPrefix(strings.TrimSpace(before), "groups") {
			t.Fatalf("%s: want exactly one top-level \"groups:\" line after a comment", f)
		}
		for line := range strings.Lines(after) {
			if strings.TrimSpace(line) == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("  " + line)
		}
	}
	return b.Bytes()
}

func TestPrometheusRuleMatchesRuleFiles(t *testing.T) {
	want := renderPrometheusRule(t, ruleFiles(t))
	const path = "prometheusrule.yaml"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from rules/*.yaml: run `go test -run PrometheusRule -update` in deploy/monitoring", path)
	}
}
