package deploy

import (
	"fmt"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const namespace = "cachet"

// reporter is what the checks report to: a *testing.T, or a recorder in
// the tests that break the layout on purpose.
type reporter interface {
	Errorf(format string, args ...any)
}

// TestManifests builds each overlay and checks what a cluster would be given.
func TestManifests(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			b := build(t, o)
			if len(b.placeholders) > 0 {
				t.Logf("built with placeholders for %s (kept out of git)", strings.Join(b.placeholders, ", "))
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
			}
		})
	}
}

// checks are run on every overlay; each needs the four Deployments.
var checks = []struct {
	name string
	fn   func(t reporter, b *bundle)
}{
	{"namespace", checkNamespace},
	{"services select pods and named ports", checkServices},
	{"probes and ports", checkProbes},
	{"prometheus annotations", checkScrape},
	{"security context", checkSecurity},
	{"resources", checkResources},
	{"config and secret references", checkReferences},
	{"images", checkImages},
	{"autoscaler and disruption budgets", checkScaling},
	{"push capacity", checkPushCapacity},
	{"relay", checkRelay},
	{"push", checkPush},
	{"chaincode", checkChaincode},
}

// podSpecs visits every pod template with its owner's name.
func (b *bundle) podSpecs(fn func(owner string, pod *corev1.PodSpec, meta *metav1.ObjectMeta)) {
	for _, d := range b.deployments {
		fn("Deployment "+d.Name, &d.Spec.Template.Spec, &d.Spec.Template.ObjectMeta)
	}
}

func checkNamespace(t reporter, b *bundle) {
	if len(b.namespaces) != 1 || b.namespaces[0].Name != namespace {
		t.Errorf("want exactly the namespace %q, got %d namespaces", namespace, len(b.namespaces))
		return
	}
	if got := b.namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("namespace enforces pod security %q, want restricted", got)
	}
	ns := func(kind, name, got string) {
		if got != namespace {
			t.Errorf("%s %s in namespace %q, want %q", kind, name, got, namespace)
		}
	}
	for _, d := range b.deployments {
		ns("Deployment", d.Name, d.Namespace)
	}
	for _, s := range b.services {
		ns("Service", s.Name, s.Namespace)
	}
	for _, c := range b.configMaps {
		ns("ConfigMap", c.Name, c.Namespace)
	}
	for _, s := range b.secrets {
		ns("Secret", s.Name, s.Namespace)
	}
	for _, p := range b.pdbs {
		ns("PodDisruptionBudget", p.Name, p.Namespace)
	}
	for _, h := range b.hpas {
		ns("HorizontalPodAutoscaler", h.Name, h.Namespace)
	}
	for _, i := range b.ingresses {
		ns("Ingress", i.Name, i.Namespace)
	}
}

// hasPort reports whether c declares p, by name or number.
func hasPort(c *corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return true
		}
	}
	return false
}

// podsOf returns the Deployments whose pods sel selects.
func (b *bundle) podsOf(sel labels.Selector) []string {
	var names []string
	for _, d := range b.deployments {
		if !sel.Empty() && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			names = append(names, d.Name)
		}
	}
	return names
}

func checkServices(t reporter, b *bundle) {
	for _, s := range b.services {
		matched := b.podsOf(labels.SelectorFromSet(s.Spec.Selector))
		if len(matched) != 1 {
			t.Errorf("Service %s selects the pods of %v, want exactly one Deployment", s.Name, matched)
			continue
		}
		d := b.deploymentNamed(matched[0])
		for _, p := range s.Spec.Ports {
			if !slices.ContainsFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return hasPort(&c, p.TargetPort) }) {
				t.Errorf("Service %s port %s targets %s, which no container of %s declares", s.Name, p.Name, p.TargetPort.String(), d.Name)
			}
		}
		if s.Spec.SessionAffinity != "" && s.Spec.SessionAffinity != corev1.ServiceAffinityNone {
			t.Errorf("Service %s has session affinity %s: every instance serves every client", s.Name, s.Spec.SessionAffinity)
		}
	}
	for _, in := range b.ingresses {
		for _, r := range in.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				svc := b.serviceNamed(p.Backend.Service.Name)
				if svc == nil {
					t.Errorf("Ingress %s routes %s to Service %s, which does not exist", in.Name, p.Path, p.Backend.Service.Name)
					continue
				}
				if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
					return sp.Name == p.Backend.Service.Port.Name && sp.Name != "" || sp.Port == p.Backend.Service.Port.Number && sp.Port != 0
				}) {
					t.Errorf("Ingress %s routes %s to a port Service %s does not have", in.Name, p.Path, svc.Name)
				}
			}
		}
	}
}

func (b *bundle) deploymentNamed(n string) *appsv1.Deployment {
	for _, d := range b.deployments {
		if d.Name == n {
			return d
		}
	}
	return nil
}

func (b *bundle) serviceNamed(n string) *corev1.Service {
	for _, s := range b.services {
		if s.Name == n {
			return s
		}
	}
	return nil
}

// noHTTP lists the containers that serve nothing to probe, and why (none
// now: every daemon serves /healthz).
var noHTTP = map[string]string{}

func checkProbes(t reporter, b *bundle) {
	b.podSpecs(func(owner string, pod *corev1.PodSpec, _ *metav1.ObjectMeta) {
		for i := range pod.Containers {
			c := &pod.Containers[i]
			if why, ok := noHTTP[c.Name]; ok {
				if len(c.Ports) > 0 || c.LivenessProbe != nil || c.ReadinessProbe != nil {
					t.Errorf("%s container %s has ports or probes, but %s", owner, c.Name, why)
				}
				continue
			}
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s container %s needs a liveness and a readiness probe", owner, c.Name)
			}
			for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
				if p == nil {
					continue
				}
				var port intstr.IntOrString
				switch {
				case p.HTTPGet != nil:
					port = p.HTTPGet.Port
					if p.HTTPGet.Path != "/healthz" {
						t.Errorf("%s container %s: %s probe on %s, want /healthz", owner, c.Name, kind, p.HTTPGet.Path)
					}
				case p.TCPSocket != nil:
					port = p.TCPSocket.Port
				default:
					t.Errorf("%s container %s: %s probe is neither HTTP nor TCP (the image has no shell)", owner, c.Name, kind)
					continue
				}
				if !hasPort(c, port) {
					t.Errorf("%s container %s: %s probe on port %s, which it does not declare", owner, c.Name, kind, port.String())
				}
			}
			seen := map[int32]bool{}
			for _, p := range c.Ports {
				if p.Name == "" || seen[p.ContainerPort] {
					t.Errorf("%s container %s: port %d unnamed or declared twice", owner, c.Name, p.ContainerPort)
				}
				seen[p.ContainerPort] = true
				if !listensOn(c, p.ContainerPort) {
					t.Errorf("%s container %s declares port %d but is not told to listen on it", owner, c.Name, p.ContainerPort)
				}
			}
		}
	})
}

// listensOn reports whether c's args or environment give port as a listen
// address (":9464", "0.0.0.0:9999").
func listensOn(c *corev1.Container, port int32) bool {
	suffix := ":" + strconv.Itoa(int(port))
	for _, a := range c.Args {
		if name, v, ok := strings.Cut(a, "="); ok && strings.HasSuffix(name, "listen") && strings.HasSuffix(v, suffix) {
			return true
		}
	}
	for _, e := range c.Env {
		if e.Name == "CHAINCODE_SERVER_ADDRESS" && strings.HasSuffix(e.Value, suffix) {
			return true
		}
	}
	return false
}

func checkScrape(t reporter, b *bundle) {
	b.podSpecs(func(owner string, pod *corev1.PodSpec, meta *metav1.ObjectMeta) {
		a := meta.Annotations
		if a["prometheus.io/scrape"] != "true" {
			return
		}
		if a["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s scrapes %q, want /metrics", owner, a["prometheus.io/path"])
		}
		port, err := strconv.Atoi(a["prometheus.io/port"])
		if err != nil || !slices.ContainsFunc(pod.Containers, func(c corev1.Container) bool { return hasPort(&c, intstr.FromInt32(int32(port))) }) {
			t.Errorf("%s scrapes port %q, which no container declares", owner, a["prometheus.io/port"])
		}
	})
	for _, c := range []string{"relay", "push", "analytics"} {
		if b.deployment(c).Spec.Template.Annotations["prometheus.io/scrape"] != "true" {
			t.Errorf("%s serves /metrics but is not scraped", c)
		}
	}
}

func checkSecurity(t reporter, b *bundle) {
	b.podSpecs(func(owner string, pod *corev1.PodSpec, _ *metav1.ObjectMeta) {
		sc := pod.SecurityContext
		switch {
		case sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
			t.Errorf("%s: pod securityContext needs runAsNonRoot", owner)
		case sc.RunAsUser == nil || *sc.RunAsUser != imageUser:
			t.Errorf("%s: pod runs as %v, want the image's user %d", owner, sc.RunAsUser, imageUser)
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s: pod needs seccompProfile RuntimeDefault", owner)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s mounts a service account token; the daemons never call the API", owner)
		}
		if _, ok := b.accounts[pod.ServiceAccountName]; !ok {
			t.Errorf("%s runs as service account %q, which the layout does not create", owner, pod.ServiceAccountName)
		}
		// The daemons read CACHET_* variables; service links would add
		// CACHET_PUSH_PORT and the like for every Service in the namespace.
		if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
			t.Errorf("%s: enableServiceLinks must be false", owner)
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Errorf("%s shares a host namespace", owner)
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			cs := c.SecurityContext
			switch {
			case cs == nil:
				t.Errorf("%s container %s has no securityContext", owner, c.Name)
			case cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation:
				t.Errorf("%s container %s: allowPrivilegeEscalation must be false", owner, c.Name)
			case cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem:
				t.Errorf("%s container %s: readOnlyRootFilesystem must be true", owner, c.Name)
			case cs.RunAsNonRoot == nil || !*cs.RunAsNonRoot:
				t.Errorf("%s container %s: runAsNonRoot must be true", owner, c.Name)
			case cs.Privileged != nil && *cs.Privileged:
				t.Errorf("%s container %s is privileged", owner, c.Name)
			case cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) > 0:
				t.Errorf("%s container %s must drop ALL capabilities and add none", owner, c.Name)
			}
		}
	})
}

func checkResources(t reporter, b *bundle) {
	b.podSpecs(func(owner string, pod *corev1.PodSpec, _ *metav1.ObjectMeta) {
		for _, c := range pod.Containers {
			r := c.Resources
			cpu, mem, limit := r.Requests.Cpu(), r.Requests.Memory(), r.Limits.Memory()
			if cpu.IsZero() || mem.IsZero() || limit.IsZero() {
				t.Errorf("%s container %s needs cpu and memory requests and a memory limit", owner, c.Name)
				continue
			}
			if mem.Cmp(*limit) > 0 {
				t.Errorf("%s container %s requests %s of memory, over its limit %s", owner, c.Name, mem, limit)
			}
			// Go collects harder as it nears GOMEMLIMIT; librdkafka's
			// buffers live outside the Go heap, so it sits below the limit.
			gml := envValue(&c, "GOMEMLIMIT")
			q, err := resource.ParseQuantity(strings.TrimSuffix(gml, "B"))
			if err != nil || q.Cmp(*limit) >= 0 || q.Value() < limit.Value()/2 {
				t.Errorf("%s container %s: GOMEMLIMIT %q, want between half and all of its memory limit %s", owner, c.Name, gml, limit)
			}
		}
	})
}

// envValue returns the literal value of c's variable name ("" if none).
func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func checkReferences(t reporter, b *bundle) {
	hasKey := func(kind, name, key string) error {
		var keys []string
		switch kind {
		case "ConfigMap":
			cm, ok := b.configMaps[name]
			if !ok {
				return fmt.Errorf("ConfigMap %s does not exist", name)
			}
			for k := range cm.Data {
				keys = append(keys, k)
			}
		case "Secret":
			s, ok := b.secrets[name]
			if !ok {
				return fmt.Errorf("Secret %s does not exist", name)
			}
			for k := range s.Data {
				keys = append(keys, k)
			}
			for k := range s.StringData {
				keys = append(keys, k)
			}
		}
		if key != "" && !slices.Contains(keys, key) {
			return fmt.Errorf("%s %s has no key %q (has %v)", kind, name, key, keys)
		}
		return nil
	}
	used := map[string]bool{}
	b.podSpecs(func(owner string, pod *corev1.PodSpec, _ *metav1.ObjectMeta) {
		volumes := map[string]bool{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = true
			var err error
			switch {
			case v.Secret != nil:
				used["Secret/"+v.Secret.SecretName] = true
				err = hasKey("Secret", v.Secret.SecretName, "")
				for _, it := range v.Secret.Items {
					err = errorsJoin(err, hasKey("Secret", v.Secret.SecretName, it.Key))
				}
			case v.ConfigMap != nil:
				used["ConfigMap/"+v.ConfigMap.Name] = true
				err = hasKey("ConfigMap", v.ConfigMap.Name, "")
				for _, it := range v.ConfigMap.Items {
					err = errorsJoin(err, hasKey("ConfigMap", v.ConfigMap.Name, it.Key))
				}
			}
			if err != nil {
				t.Errorf("%s volume %s: %v", owner, v.Name, err)
			}
		}
		mounted := map[string]bool{}
		for _, c := range pod.Containers {
			for _, m := range c.VolumeMounts {
				mounted[m.Name] = true
				if !volumes[m.Name] {
					t.Errorf("%s container %s mounts volume %s, which the pod does not declare", owner, c.Name, m.Name)
				}
				if !m.ReadOnly {
					t.Errorf("%s container %s mounts %s writable", owner, c.Name, m.Name)
				}
			}
			names := map[string]bool{}
			for _, e := range c.Env {
				if names[e.Name] {
					t.Errorf("%s container %s sets %s twice", owner, c.Name, e.Name)
				}
				names[e.Name] = true
				if e.ValueFrom == nil {
					continue
				}
				var err error
				switch f := e.ValueFrom; {
				case f.ConfigMapKeyRef != nil:
					used["ConfigMap/"+f.ConfigMapKeyRef.Name] = true
					err = hasKey("ConfigMap", f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key)
				case f.SecretKeyRef != nil:
					used["Secret/"+f.SecretKeyRef.Name] = true
					err = hasKey("Secret", f.SecretKeyRef.Name, f.SecretKeyRef.Key)
				}
				if err != nil {
					t.Errorf("%s container %s env %s: %v", owner, c.Name, e.Name, err)
				}
			}
			if len(c.EnvFrom) > 0 {
				t.Errorf("%s container %s uses envFrom: name each variable so its source is checked", owner, c.Name)
			}
		}
		for v := range volumes {
			if !mounted[v] {
				t.Errorf("%s declares volume %s but mounts it nowhere", owner, v)
			}
		}
	})
	// Generated names carry a hash of the content: a changed value or a
	// rotated key rolls the pods that read it.
	for n := range b.configMaps {
		if !generated.MatchString(n) {
			t.Errorf("ConfigMap %s is not generated (no content hash in its name)", n)
		}
	}
	for n := range b.secrets {
		if !generated.MatchString(n) {
			t.Errorf("Secret %s is not generated (no content hash in its name)", n)
		}
	}
	for n := range b.configMaps {
		if !used["ConfigMap/"+n] {
			t.Errorf("ConfigMap %s is used by no pod", n)
		}
	}
	for n := range b.secrets {
		if !used["Secret/"+n] {
			t.Errorf("Secret %s is used by no pod", n)
		}
	}
	// The MSP volume: the gateway reads exactly one regular file from each
	// of signcerts/ and keystore/; the kubelet writes symlinks at a
	// volume's top level and regular files below it.
	relay := b.deployment("relay").Spec.Template.Spec
	var paths []string
	for _, v := range relay.Volumes {
		if v.Secret != nil {
			for _, it := range v.Secret.Items {
				paths = append(paths, it.Path)
			}
			if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
				t.Errorf("relay secret volume %s: mode %v, want 0440 (group-readable through fsGroup)", v.Name, v.Secret.DefaultMode)
			}
		}
	}
	for _, want := range []string{"signcerts/cert.pem", "keystore/key.pem", "tls/ca.pem"} {
		if !slices.Contains(paths, want) {
			t.Errorf("relay's identity volume lacks %s (has %v)", want, paths)
		}
	}
	// Generated from files that must never be committed.
	gi, err := os.ReadFile(filepath.Join("overlays", b.overlay, "secrets", ".gitignore"))
	if err != nil || !slices.Contains(strings.Split(string(gi), "\n"), "*") {
		t.Errorf("overlays/%s/secrets/.gitignore must ignore everything (%v)", b.overlay, err)
	}
	k, err := readKustomization(filepath.Join("overlays", b.overlay))
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	for _, f := range generatorFiles(k) {
		if !strings.HasPrefix(f, "secrets/") {
			t.Errorf("overlays/%s generates from %s, outside the ignored secrets/ folder", b.overlay, f)
		}
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func checkImages(t reporter, b *bundle) {
	images := map[string]bool{}
	b.podSpecs(func(owner string, pod *corev1.PodSpec, _ *metav1.ObjectMeta) {
		for _, c := range pod.Containers {
			images[strings.TrimSuffix(c.Image, "-cuda")] = true // overlays/gpu: analytics runs the same version's CUDA build
			repo, tag := c.Image, ""
			if i := strings.LastIndexAny(c.Image, ":@"); i > strings.LastIndex(c.Image, "/") {
				repo, tag = c.Image[:i], c.Image[i+1:]
			}
			if !strings.Contains(repo, "/") {
				t.Errorf("%s container %s: image %q is the base's placeholder; the overlay names the registry", owner, c.Name, c.Image)
			}
			if tag == "" || tag == "latest" {
				t.Errorf("%s container %s: image %q needs a tag or digest other than latest", owner, c.Name, c.Image)
			}
			if c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("%s container %s: pull policy %q, want IfNotPresent for a pinned image", owner, c.Name, c.ImagePullPolicy)
			}
			wantCmd := []string(nil)
			if c.Name == "chaincode" {
				wantCmd = []string{imageBin + "/cachet-chaincode"}
			}
			if !slices.Equal(c.Command, wantCmd) {
				t.Errorf("%s container %s: command %v, want %v (the image's entrypoint is cachet)", owner, c.Name, c.Command, wantCmd)
			}
		}
	})
	if len(images) != 1 {
		t.Errorf("want one image for every daemon, got %v", images)
	}
}

// Push capacity for prod, from push/SCALING.md: 1,000,000 clients at
// the autoscaler's 12,000 connections a pod.
const (
	prodClients       = 1_000_000
	clientsPerPod     = 12_000
	maxScaleUpMinutes = 10
)

// checkPushCapacity checks that prod's push autoscaler may reach the pods
// a million clients need, and that its scale-up policies get there from
// the minimum within maxScaleUpMinutes: each period the autoscaler adds
// the most (selectPolicy Max, the default) of what its policies allow.
func checkPushCapacity(t reporter, b *bundle) {
	if b.overlay != "prod" {
		return
	}
	var h *autoscalingv2.HorizontalPodAutoscaler
	for _, x := range b.hpas {
		if x.Spec.ScaleTargetRef.Name == "cachet-push" {
			h = x
		}
	}
	if h == nil || h.Spec.MinReplicas == nil {
		t.Errorf("no autoscaler with a minimum for cachet-push")
		return
	}
	need := int32((prodClients + clientsPerPod - 1) / clientsPerPod)
	if h.Spec.MaxReplicas < need {
		t.Errorf("cachet-push may grow to %d pods, %d clients need %d", h.Spec.MaxReplicas, prodClients, need)
	}
	up := h.Spec.Behavior
	if up == nil || up.ScaleUp == nil || len(up.ScaleUp.Policies) == 0 {
		t.Errorf("cachet-push's autoscaler has no scale-up policies")
		return
	}
	if sel := up.ScaleUp.SelectPolicy; sel != nil && *sel != autoscalingv2.MaxChangePolicySelect {
		t.Errorf("cachet-push's scale-up selects %s; the policies below assume Max", *sel)
	}
	for _, p := range up.ScaleUp.Policies {
		if p.PeriodSeconds != 60 {
			t.Errorf("cachet-push's scale-up policy %s %d has a period of %d s; this check steps minutes", p.Type, p.Value, p.PeriodSeconds)
			return
		}
	}
	pods := *h.Spec.MinReplicas
	for range maxScaleUpMinutes {
		add := int32(0)
		for _, p := range up.ScaleUp.Policies {
			n := p.Value
			if p.Type == autoscalingv2.PercentScalingPolicy {
				n = (pods*p.Value + 99) / 100
			}
			add = max(add, n)
		}
		pods += add
	}
	if pods < need {
		t.Errorf("cachet-push's scale-up reaches %d of %d pods in %d minutes", pods, need, maxScaleUpMinutes)
	}
}

func checkScaling(t reporter, b *bundle) {
	hpaMin := map[string]int32{}
	for _, h := range b.hpas {
		ref := h.Spec.ScaleTargetRef
		d := b.deploymentNamed(ref.Name)
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil {
			t.Errorf("HorizontalPodAutoscaler %s scales %s %s, which does not exist", h.Name, ref.Kind, ref.Name)
			continue
		}
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas; its autoscaler %s owns them", d.Name, h.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: min %v max %d, want 2 ≤ min ≤ max", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
			continue
		}
		hpaMin[d.Name] = *h.Spec.MinReplicas
		for _, m := range h.Spec.Metrics {
			if m.Resource == nil {
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				if q := c.Resources.Requests[m.Resource.Name]; q.IsZero() {
					t.Errorf("%s scales on %s utilization but container %s requests none", h.Name, m.Resource.Name, c.Name)
				}
			}
		}
		// Scaling down closes an instance's connections: gently.
		if sd := h.Spec.Behavior; sd == nil || sd.ScaleDown == nil || sd.ScaleDown.StabilizationWindowSeconds == nil || *sd.ScaleDown.StabilizationWindowSeconds < 300 {
			t.Errorf("%s needs a scale-down stabilization window of at least 5 minutes", h.Name)
		}
	}
	for _, p := range b.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Errorf("PodDisruptionBudget %s: %v", p.Name, err)
			continue
		}
		matched := b.podsOf(sel)
		if len(matched) != 1 {
			t.Errorf("PodDisruptionBudget %s covers %v, want exactly one Deployment", p.Name, matched)
			continue
		}
		d := b.deploymentNamed(matched[0])
		replicas := hpaMin[d.Name]
		if replicas == 0 {
			replicas = 1
			if d.Spec.Replicas != nil {
				replicas = *d.Spec.Replicas
			}
		}
		// A budget that allows no eviction blocks every node drain.
		allowed := int32(0)
		switch {
		case p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int:
			allowed = replicas - p.Spec.MinAvailable.IntVal
		case p.Spec.MaxUnavailable != nil && p.Spec.MaxUnavailable.Type == intstr.Int:
			allowed = p.Spec.MaxUnavailable.IntVal
		default:
			t.Errorf("PodDisruptionBudget %s: use an integer minAvailable or maxUnavailable", p.Name)
		}
		if allowed < 1 || allowed >= replicas {
			t.Errorf("PodDisruptionBudget %s allows %d of %d pods of %s to go at once, want 1 ≤ n < %d", p.Name, allowed, replicas, d.Name, replicas)
		}
	}
	covered := map[string]bool{}
	for _, p := range b.pdbs {
		sel, _ := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		for _, n := range b.podsOf(sel) {
			covered[n] = true
		}
	}
	for _, c := range []string{"chaincode", "relay", "push"} {
		if !covered[b.deployment(c).Name] {
			t.Errorf("%s has no PodDisruptionBudget", c)
		}
	}
}

func checkRelay(t reporter, b *bundle) {
	d := b.deployment("relay")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("relay replicas %v, want 2: a leader and a standby", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("relay rollout must keep both relays (maxUnavailable 0)")
	}
	c := &d.Spec.Template.Spec.Containers[0]
	found := false
	for _, e := range c.Env {
		if e.Name == "CACHET_RELAY_INSTANCE" {
			found = e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
		}
	}
	if !found {
		t.Errorf("relay's CACHET_RELAY_INSTANCE must come from the pod name (static group membership)")
	}
	for _, n := range []string{"CACHET_BROKERS", "CACHET_PEERS", "CACHET_MSP_ID", "CACHET_MSP_DIR", "CACHET_TLS_CA", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == n }) {
			t.Errorf("relay lacks %s", n)
		}
	}
}

// pushBytesPerConn is the memory one connection may take: twice the
// ~7 KB per idle connection push/README.md measured. pushBase is the rest:
// runtime, replay window, Kafka clients.
const (
	pushBytesPerConn = 16 << 10
	pushBase         = 128 << 20
)

func checkPush(t reporter, b *bundle) {
	d := b.deployment("push")
	c := &d.Spec.Template.Spec.Containers[0]
	flags := argFlags(c.Args)
	maxConns, err := strconv.Atoi(flags["max-conns"])
	if err != nil {
		t.Errorf("push must set --max-conns: its memory is sized from it (%v)", err)
		return
	}
	if need := int64(pushBase + maxConns*pushBytesPerConn); c.Resources.Limits.Memory().Value() < need {
		t.Errorf("push memory limit %s is under %d MiB for --max-conns=%d", c.Resources.Limits.Memory(), need>>20, maxConns)
	}
	// Behind an Ingress every connection comes from a controller pod.
	if len(b.ingresses) > 0 {
		if perIP, _ := strconv.Atoi(flags["max-conns-per-ip"]); perIP < maxConns {
			t.Errorf("push behind an Ingress: --max-conns-per-ip=%d would cap a whole controller pod; limit per client IP at the Ingress", perIP)
		}
	}
	if flags["jwks"] == "" && envValueFrom(c, "CACHET_PUSH_SECRET") == nil {
		t.Errorf("push needs --jwks or CACHET_PUSH_SECRET")
	}
	if b.overlay == "prod" && (envValueFrom(c, "CACHET_PUSH_SECRET") != nil || flags["jwks"] == "") {
		t.Errorf("prod push verifies tokens with the issuer's public keys (--jwks) only, not a shared secret")
	}
	if flags["allowed-origins"] == "" {
		t.Errorf("push must name its page origins (--allowed-origins)")
	}
	if ls := c.Lifecycle; ls == nil || ls.PreStop == nil || ls.PreStop.Sleep == nil {
		t.Errorf("push needs a preStop sleep so clients reconnect to the other instances")
	}
	for _, in := range b.ingresses {
		a := in.Annotations
		for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			// The server pings every 25 s: a timeout at or under that cuts quiet connections.
			if v, _ := strconv.Atoi(a["nginx.ingress.kubernetes.io/"+k]); v <= 60 {
				t.Errorf("Ingress %s: %s %q, want well over the 25 s ping", in.Name, k, a["nginx.ingress.kubernetes.io/"+k])
			}
		}
		if a["nginx.ingress.kubernetes.io/affinity"] != "" {
			t.Errorf("Ingress %s: no sticky sessions", in.Name)
		}
		if a["nginx.ingress.kubernetes.io/limit-connections"] == "" {
			t.Errorf("Ingress %s: limit connections per client IP there", in.Name)
		}
		for _, r := range in.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				if !slices.Contains([]string{"/ws", "/sse", "/receipts", "/spans"}, p.Path) || p.PathType == nil || *p.PathType != "Exact" {
					t.Errorf("Ingress %s exposes %s (%v): only the client endpoints, exactly", in.Name, p.Path, p.PathType)
				}
			}
		}
		if b.overlay == "prod" && len(in.Spec.TLS) == 0 {
			t.Errorf("prod Ingress %s serves no TLS", in.Name)
		}
	}
}

func envValueFrom(c *corev1.Container, name string) *corev1.EnvVarSource {
	for _, e := range c.Env {
		if e.Name == name {
			return e.ValueFrom
		}
	}
	return nil
}

// argFlags maps each --name=value argument to its value.
func argFlags(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		if n, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); ok && strings.HasPrefix(a, "-") {
			m[n] = v
		}
	}
	return m
}

var generated = regexp.MustCompile(`^cachet-[a-z0-9-]+-[a-z0-9]{10}$`)

var packageID = regexp.MustCompile(`^[A-Za-z0-9_.+-]+:[0-9a-f]{64}$`)

func checkChaincode(t reporter, b *bundle) {
	d := b.deployment("chaincode")
	c := &d.Spec.Template.Spec.Containers[0]
	src := envValueFrom(c, "CHAINCODE_ID")
	if src == nil || src.ConfigMapKeyRef == nil {
		t.Errorf("chaincode's CHAINCODE_ID must come from a ConfigMap (it changes at each upgrade)")
		return
	}
	if id := b.configMaps[src.ConfigMapKeyRef.Name].Data[src.ConfigMapKeyRef.Key]; !packageID.MatchString(id) {
		t.Errorf("CHAINCODE_ID %q is not a package ID (label:sha256)", id)
	}
	svc := b.serviceNamed(d.Name)
	_, port, _ := strings.Cut(envValue(c, "CHAINCODE_SERVER_ADDRESS"), ":")
	if svc == nil || len(svc.Spec.Ports) != 1 || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != port {
		t.Errorf("the peers' connection.json names Service %s on the server's port %s", d.Name, port)
	}
	tls := envValue(c, "CHAINCODE_TLS_CERT") != ""
	if b.overlay == "prod" && (!tls || envValue(c, "CHAINCODE_TLS_KEY") == "" || envValue(c, "CHAINCODE_TLS_CLIENT_CA") == "") {
		t.Errorf("prod chaincode needs mutual TLS (CHAINCODE_TLS_CERT, _KEY, _CLIENT_CA)")
	}
}
