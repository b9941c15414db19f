package monitoring

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// repoRoot is the root module's directory, where cmd/cachet lives.
const repoRoot = "../.."

// synthetic are series Prometheus makes itself rather than scraping.
var synthetic = map[string]bool{"up": true}

// grafanaVars are the Grafana variables the dashboards' queries use, with a
// value that parses where the variable stands.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

var promqlParser = parser.NewParser(parser.Options{})

// query is one PromQL expression and where it comes from.
type query struct {
	where string // "rules/push.yaml: CachetPushDropRate", "dashboards/x.json: panel"
	expr  string
}

// metricNames parses expr with Prometheus' parser and returns the metric
// names its selectors name, sorted. A selector without a plain metric name
// ({__name__=~"..."}) is an error: it could not be checked.
func metricNames(expr string) ([]string, error) {
	e, err := promqlParser.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var bad error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name == "" {
			bad = fmt.Errorf("selector %s names no metric", vs)
			return bad
		}
		seen[vs.Name] = true
		return nil
	})
	if bad != nil {
		return nil, bad
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// ruleQueries returns every rule's expression, each file parsed and
// validated by Prometheus' own rule loader.
func ruleQueries(t *testing.T) []query {
	t.Helper()
	var qs []query
	for _, f := range ruleFiles(t) {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, promqlParser, slog.New(slog.DiscardHandler))
		for _, err := range errs {
			t.Errorf("%s: %v", f, err)
		}
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				qs = append(qs, query{fmt.Sprintf("%s: %s%s", f, r.Alert, r.Record), r.Expr})
			}
		}
	}
	return qs
}

// panel is the part of a Grafana panel that holds queries; rows nest panels.
type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardQueries returns every panel's queries from dashboards/*.json.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob("dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in dashboards/ (%v)", err)
	}
	var qs []query
	var walk func(f string, ps []panel)
	walk = func(f string, ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				qs = append(qs, query{fmt.Sprintf("%s: %q", f, p.Title), tg.Expr})
			}
			walk(f, p.Panels)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Title  string  `json:"title"`
			UID    string  `json:"uid"`
			Panels []panel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.Title == "" || d.UID == "" {
			t.Errorf("%s: a dashboard needs a title and a uid (Grafana's provisioning keys on the uid)", f)
		}
		walk(f, d.Panels)
	}
	return qs
}

// checkQueries parses every query and reports each metric it names that is
// not in known.
func checkQueries(t *testing.T, qs []query, known map[string]bool) {
	t.Helper()
	for _, q := range qs {
		if strings.TrimSpace(q.expr) == "" {
			t.Errorf("%s: empty query", q.where)
			continue
		}
		names, err := metricNames(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: %q names no metric", q.where, q.expr)
		}
		for _, n := range names {
			if !known[n] && !synthetic[n] {
				t.Errorf("%s: metric %s is exported by no Cachet daemon", q.where, n)
			}
		}
	}
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr    string
		want    string
		wantErr bool
	}{
		{expr: `cachet_push_connections`, want: "cachet_push_connections"},
		{expr: `sum by (reason) (rate(cachet_push_drops_total{reason!="shutdown"}[$__rate_interval])) / clamp_min(sum(cachet_push_connections), 1)`,
			want: "cachet_push_connections cachet_push_drops_total"},
		{expr: `histogram_quantile(0.99, sum by (le) (rate(cachet_analytics_round_duration_seconds_bucket[5m])))`,
			want: "cachet_analytics_round_duration_seconds_bucket"},
		{expr: `(sum(cachet_relay_leader) or vector(0)) < 1`, want: "cachet_relay_leader"},
		{expr: `{__name__=~"cachet_.*"}`, wantErr: true},
		{expr: `rate(cachet_push_drops_total[5m]`, wantErr: true},
	} {
		got, err := metricNames(c.expr)
		if (err != nil) != c.wantErr {
			t.Errorf("metricNames(%q): error %v, want error %v", c.expr, err, c.wantErr)
			continue
		}
		if g := strings.Join(got, " "); !c.wantErr && g != c.want {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, g, c.want)
		}
	}
}

// TestQueriesNameExportedMetrics checks every alert rule's and every
// dashboard panel's PromQL against the metrics Cachet's binaries export:
// it builds cmd/cachet, runs `cachet dev` (embedded broker and push),
// `cachet analytics run` against it and `cachet api` (the purge API,
// whose gateway has no peer to reach, so its purges fail UNAVAILABLE),
// and scrapes all three. The relay needs a Fabric network, so its names
// come from relay/metrics.go instead; so do label-vector metrics of push,
// analytics and the purge API that have no series until something happens
// (a drop, a skipped record), which the scrape cannot show on an idle
// system.
func TestQueriesNameExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test builds cachet and scrapes running daemons; make test-ops runs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := buildCachet(ctx, t)

	dev := start(ctx, t, bin, "dev", "--port=0", "--partitions=1", "--analytics=false", "--origin-listen=", "--push-listen=127.0.0.1:0")
	broker := dev.await(t, regexp.MustCompile(`kafka: embedded broker on (\S+)`))
	pushAddr := dev.await(t, regexp.MustCompile(`push: listening on http://(\S+)`))
	an := start(ctx, t, bin, "analytics", "run", "--brokers="+broker, "--listen=127.0.0.1:0", "--engine=cpu", "--partitions=1", "--interval=100ms")
	anAddr := an.await(t, regexp.MustCompile(`analytics: metrics on http://(\S+)/metrics`))
	apiMetrics := startAPI(ctx, t, bin)

	// Something for the label vectors to count: an upgrade without a token
	// is refused, a malformed receipt is dropped.
	if resp, err := http.Get("http://" + pushAddr + "/ws"); err == nil {
		resp.Body.Close()
	}
	if resp, err := http.Post("http://"+pushAddr+"/receipts", "application/json", strings.NewReader("{")); err == nil {
		resp.Body.Close()
	}
	time.Sleep(500 * time.Millisecond) // an analytics round

	known := map[string]bool{}
	scraped := map[string]map[string]bool{
		"push":      scrape(ctx, t, "http://"+pushAddr+"/metrics"),
		"analytics": scrape(ctx, t, "http://"+anAddr+"/metrics"),
		"api":       scrape(ctx, t, apiMetrics),
	}
	declared := map[string]map[string]bool{
		"relay":     declaredNames(t, "relay"),
		"push":      declaredNames(t, "push"),
		"analytics": declaredNames(t, "analytics/daemon"),
		"api":       declaredNames(t, "purgeapi"),
	}
	for daemon, names := range scraped {
		if len(names) == 0 {
			t.Fatalf("%s exported no metrics", daemon)
		}
		for n := range names {
			known[n] = true
		}
		for n := range declared[daemon] {
			if !names[n] && !names[n+"_bucket"] {
				t.Logf("%s: %s is declared in the source but had no series in this run (a label vector not yet used)", daemon, n)
			}
		}
	}
	for _, names := range declared {
		for n := range names {
			known[n] = true
		}
	}
	checkQueries(t, ruleQueries(t), known)
	checkQueries(t, dashboardQueries(t), known)
}

// startAPI runs `cachet api` with a self-signed identity and one peer that
// does not answer, sends it one purge (which the gateway fails, so a
// submit is observed) and returns its /metrics URL.
func startAPI(ctx context.Context, t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	cert := writeIdentity(t, filepath.Join(dir, "msp"))
	tokens := filepath.Join(dir, "tokens.json")
	out, err := exec.CommandContext(ctx, bin, "api", "token", "create", "--tokens="+tokens, "--scope=purge:keys", "--json").Output()
	if err != nil {
		t.Fatalf("cachet api token create: %v", err)
	}
	var created struct{ Token string }
	if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
		t.Fatalf("cachet api token create printed %q: %v", out, err)
	}
	api := start(ctx, t, bin, "api", "--peers=127.0.0.1:1", "--tls-ca="+cert, "--msp-id=Org1MSP", "--msp-dir="+filepath.Join(dir, "msp"),
		"--tokens="+tokens, "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0")
	metrics := api.await(t, regexp.MustCompile(`api: metrics on (http://\S+/metrics)`))
	apiAddr := api.await(t, regexp.MustCompile(`api: purge API on http://(\S+) `))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+apiAddr+"/v1/purge", strings.NewReader(`{"keys":["https://shop.example/a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+created.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("purge through a gateway with no peer: %s, want 503", resp.Status)
	}
	return metrics
}

// writeIdentity writes an MSP folder (signcerts/, keystore/) with a
// self-signed P-256 certificate under dir and returns the certificate's
// path, which also serves as the peers' TLS root.
func writeIdentity(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "publisher@Org1MSP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(dir, "signcerts", "cert.pem")
	for f, b := range map[string]*pem.Block{cert: {Type: "CERTIFICATE", Bytes: der}, filepath.Join(dir, "keystore", "key_sk"): {Type: "PRIVATE KEY", Bytes: pkcs8}} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cert
}

// buildCachet builds cmd/cachet from the root module into a temporary
// folder.
func buildCachet(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cachet")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/cachet")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cachet: %v\n%s", err, out)
	}
	return bin
}

// process is a running cachet whose standard output lines arrive on lines.
type process struct {
	name  string
	lines chan string
}

// start runs bin with args until the test ends.
func start(ctx context.Context, t *testing.T, bin string, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: strings.Join(args[:1], " "), lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
	}()
	t.Cleanup(func() { cancel(); cmd.Wait() })
	return p
}

// await returns the first submatch of the first output line matching re.
func (p *process) await(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("cachet %s exited before printing %s", p.name, re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatalf("cachet %s printed no line matching %s in a minute", p.name, re)
		}
	}
}

// sampleName is the metric name at the start of an exposition line.
var sampleName = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]`)

// scrape returns the names of the samples url serves (histograms' _bucket,
// _sum and _count series included).
func scrape(ctx context.Context, t *testing.T, url string) map[string]bool {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	names := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		if m := sampleName.FindStringSubmatch(line); m != nil {
			names[m[1]] = true
		}
	}
	return names
}

// declaration matches a metric name in source: a string literal starting
// cachet_ (Opts{Name: "..."}, NewDesc("...", ...), the relay's helpers).
var declaration = regexp.MustCompile(`"(cachet_[a-z0-9_]+)"`)

// declaredNames returns the metric names the non-test Go files of the
// root module's package dir declare; a histogram (declared with
// HistogramOpts) adds its _bucket, _sum and _count series.
func declaredNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range declaration.FindAllStringSubmatchIndex(src, -1) {
			name := src[m[2]:m[3]]
			names[name] = true
			if strings.Contains(src[max(0, m[0]-80):m[0]], "HistogramOpts") {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[name+s] = true
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s declares no cachet_ metrics: has the code moved?", dir)
	}
	return names
}
