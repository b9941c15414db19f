package deploy

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// What the manifests assume of the image; TestDockerfile holds the
// Dockerfile to it.
const (
	imageUser = 65532            // distroless's nonroot user
	imageBin  = "/usr/local/bin" // where both binaries lie
)

// stage is one FROM … stage of the Dockerfile with its instructions.
type stage struct {
	from  string
	lines []string // instructions with continuation lines joined
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		ins := cur.String()
		cur.Reset()
		if from, ok := strings.CutPrefix(ins, "FROM "); ok {
			stages = append(stages, stage{from: strings.Fields(from)[0]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", ins)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, ins)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d stages", len(stages))
	}
	build, run := stages[0], stages[1]

	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	// Debian, for glibc (CGO), the same release as the runtime image.
	if want := "golang:" + string(goVersion[1]) + "-bookworm"; build.from != want && !strings.HasPrefix(build.from, want+"@sha256:") {
		t.Errorf("build stage FROM %s, want %s (go.mod's go version), optionally @sha256:…", build.from, want)
	}
	if !strings.HasPrefix(run.from, "gcr.io/distroless/cc-debian12") {
		t.Errorf("runtime FROM %s, want distroless cc on Debian 12 (glibc for librdkafka)", run.from)
	}
	joined := strings.Join(build.lines, "\n")
	for _, want := range []string{
		"CGO_ENABLED=1 go build -trimpath -ldflags \"-s -w -X main.version=${VERSION}\" -o /out/cachet ./cmd/cachet",
		"CGO_ENABLED=0 go build -trimpath -ldflags \"-s -w\" -o /out/cachet-chaincode ./cmd/cachet-chaincode",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	for _, want := range []string{
		"COPY --from=build /out/cachet /out/cachet-chaincode " + imageBin + "/",
		"USER 65532:65532",
		`ENTRYPOINT ["` + imageBin + `/cachet"]`,
	} {
		if !contains(run.lines, want) {
			t.Errorf("runtime stage lacks %q", want)
		}
	}
	for _, p := range []string{"../cmd/cachet", "../cmd/cachet-chaincode"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the image builds %s: %v", p, err)
		}
	}
	// Secrets and build outputs stay out of the build context.
	ignore, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".bin", "deploy/overlays/*/secrets"} {
		if !contains(strings.Split(string(ignore), "\n"), want) {
			t.Errorf("Dockerfile.dockerignore lacks %s", want)
		}
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}
