package deploy

import (
	"fmt"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// recorder collects what a check reports.
type recorder struct{ msgs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func container(b *bundle, component string) *corev1.Container {
	return &b.deployment(component).Spec.Template.Spec.Containers[0]
}

// volume returns the component's pod volume called name (overlays may add
// volumes before the base's).
func volume(b *bundle, component, name string) *corev1.Volume {
	vs := b.deployment(component).Spec.Template.Spec.Volumes
	for i := range vs {
		if vs[i].Name == name {
			return &vs[i]
		}
	}
	panic("no volume " + name + " in " + component)
}

func setEnv(c *corev1.Container, e corev1.EnvVar) {
	for i := range c.Env {
		if c.Env[i].Name == e.Name {
			c.Env[i] = e
			return
		}
	}
	c.Env = append(c.Env, e)
}

// TestChecksCatchBreakage breaks a correct overlay one way at a time and
// expects the check that guards against it to say so: a check that
// passes everything would pass these too.
func TestChecksCatchBreakage(t *testing.T) {
	cases := []struct {
		name    string
		check   func(reporter, *bundle)
		breakIt func(b *bundle)
		want    string
	}{
		{"service selects nothing", checkServices, func(b *bundle) {
			b.serviceNamed("cachet-push").Spec.Selector["app.kubernetes.io/component"] = "pushh"
		}, "want exactly one Deployment"},
		{"service targets an undeclared port", checkServices, func(b *bundle) {
			b.serviceNamed("cachet-chaincode").Spec.Ports[0].TargetPort = intstr.FromString("gprc")
		}, "which no container"},
		{"ingress to a missing service", checkServices, func(b *bundle) {
			b.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "push"
		}, "does not exist"},
		{"probe on an undeclared port", checkProbes, func(b *bundle) {
			container(b, "push").ReadinessProbe.HTTPGet.Port = intstr.FromInt32(8080)
		}, "which it does not declare"},
		{"port nobody listens on", checkProbes, func(b *bundle) {
			c := container(b, "relay")
			c.Args = c.Args[:1]
		}, "not told to listen"},
		{"no liveness probe", checkProbes, func(b *bundle) { container(b, "push").LivenessProbe = nil }, "needs a liveness"},
		{"scrape port undeclared", checkScrape, func(b *bundle) {
			b.deployment("relay").Spec.Template.Annotations["prometheus.io/port"] = "9090"
		}, "which no container declares"},
		{"writable root filesystem", checkSecurity, func(b *bundle) {
			f := false
			container(b, "analytics").SecurityContext.ReadOnlyRootFilesystem = &f
		}, "readOnlyRootFilesystem"},
		{"capability added", checkSecurity, func(b *bundle) {
			container(b, "push").SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}, "drop ALL"},
		{"no seccomp", checkSecurity, func(b *bundle) {
			b.deployment("relay").Spec.Template.Spec.SecurityContext.SeccompProfile = nil
		}, "seccompProfile"},
		{"service links on", checkSecurity, func(b *bundle) {
			on := true
			b.deployment("push").Spec.Template.Spec.EnableServiceLinks = &on
		}, "enableServiceLinks"},
		{"no memory limit", checkResources, func(b *bundle) {
			delete(container(b, "relay").Resources.Limits, corev1.ResourceMemory)
		}, "memory limit"},
		{"GOMEMLIMIT over the limit", checkResources, func(b *bundle) {
			setEnv(container(b, "analytics"), corev1.EnvVar{Name: "GOMEMLIMIT", Value: "2GiB"})
		}, "GOMEMLIMIT"},
		{"secret key missing", checkReferences, func(b *bundle) {
			volume(b, "relay", "msp").Secret.Items[0].Key = "tls.crt"
		}, `has no key "tls.crt"`},
		{"config map missing", checkReferences, func(b *bundle) {
			container(b, "push").Env[0].ValueFrom.ConfigMapKeyRef.Name = "cachet-kafak"
		}, "ConfigMap cachet-kafak does not exist"},
		{"generated secret outside the namespace", checkNamespace, func(b *bundle) {
			for _, s := range b.secrets {
				s.Namespace = ""
			}
		}, `in namespace ""`},
		{"identity mounted flat", checkReferences, func(b *bundle) {
			volume(b, "relay", "msp").Secret.Items = nil
		}, "lacks signcerts/cert.pem"},
		{"image left as the placeholder", checkImages, func(b *bundle) { container(b, "push").Image = "cachet" }, "placeholder"},
		{"image latest", checkImages, func(b *bundle) { container(b, "push").Image = "registry.example.com/cachet:latest" }, "other than latest"},
		{"budget blocks drains", checkScaling, func(b *bundle) {
			b.pdbs[0].Spec.MinAvailable = &intstr.IntOrString{IntVal: *b.deployment("chaincode").Spec.Replicas}
		}, "to go at once"},
		{"replicas beside the autoscaler", checkScaling, func(b *bundle) {
			n := int32(3)
			b.deployment("push").Spec.Replicas = &n
		}, "owns them"},
		{"push capped below a million clients", checkPushCapacity, func(b *bundle) {
			hpaOf(b, "cachet-push").Spec.MaxReplicas = 20
		}, "clients need 84"},
		{"push growing two pods a minute", checkPushCapacity, func(b *bundle) {
			up := hpaOf(b, "cachet-push").Spec.Behavior.ScaleUp
			up.Policies = up.Policies[:1]
		}, "reaches 23 of 84 pods in 10 minutes"},
		{"one relay", checkRelay, func(b *bundle) {
			n := int32(1)
			b.deployment("relay").Spec.Replicas = &n
		}, "want 2"},
		{"relay instance not the pod name", checkRelay, func(b *bundle) {
			setEnv(container(b, "relay"), corev1.EnvVar{Name: "CACHET_RELAY_INSTANCE", Value: "relay-1"})
		}, "pod name"},
		{"push memory too small for its connections", checkPush, func(b *bundle) {
			container(b, "push").Resources.Limits[corev1.ResourceMemory] = resource.MustParse("256Mi")
		}, "memory limit"},
		{"push per-IP limit behind the ingress", checkPush, func(b *bundle) {
			c := container(b, "push")
			for i, a := range c.Args {
				if strings.HasPrefix(a, "--max-conns-per-ip=") {
					c.Args[i] = "--max-conns-per-ip=256"
				}
			}
		}, "cap a whole controller pod"},
		{"ingress exposes metrics", checkPush, func(b *bundle) {
			b.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Path = "/metrics"
		}, "only the client endpoints"},
		{"ingress times out quiet connections", checkPush, func(b *bundle) {
			b.ingresses[0].Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "20"
		}, "25 s ping"},
		{"prod push with a shared secret", checkPush, func(b *bundle) {
			setEnv(container(b, "push"), corev1.EnvVar{Name: "CACHET_PUSH_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "hs256-secret"}}})
		}, "--jwks"},
		{"chaincode id not a package id", checkChaincode, func(b *bundle) {
			for _, cm := range b.configMaps {
				if _, ok := cm.Data["CHAINCODE_ID"]; ok {
					cm.Data["CHAINCODE_ID"] = "cachet"
				}
			}
		}, "not a package ID"},
		{"prod chaincode without TLS", checkChaincode, func(b *bundle) {
			c := container(b, "chaincode")
			setEnv(c, corev1.EnvVar{Name: "CHAINCODE_TLS_CERT"})
		}, "mutual TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := build(t, "prod")
			var ok recorder
			tc.check(&ok, b)
			if len(ok.msgs) > 0 {
				t.Fatalf("the unbroken overlay fails already: %v", ok.msgs)
			}
			tc.breakIt(b)
			var r recorder
			tc.check(&r, b)
			if !strings.Contains(strings.Join(r.msgs, "\n"), tc.want) {
				t.Errorf("broken: want a report containing %q, got %q", tc.want, r.msgs)
			}
		})
	}
}

// TestStrictDecoding: a misspelt field is refused, not dropped.
func TestStrictDecoding(t *testing.T) {
	good := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"name":"c","readinessProbe":{}}]}}}}`
	if _, err := decodeStrict("apps/v1/Deployment", []byte(good)); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(good, "readinessProbe", "readinesProbe", 1)
	if _, err := decodeStrict("apps/v1/Deployment", []byte(bad)); err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Errorf("misspelt field: err %v", err)
	}
	if _, err := decodeStrict("apps/v1/StatefulSet", []byte(good)); err == nil {
		t.Errorf("a kind the checks do not cover was accepted")
	}
}

// TestArgsCheckCatchesBreakage: the real flag sets refuse what they do not
// define, values they cannot parse, and variables the program never reads.
func TestArgsCheckCatchesBreakage(t *testing.T) {
	bin := binaries(t)
	cases := []struct {
		name string
		c    corev1.Container
		want string
	}{
		{"good", corev1.Container{Args: []string{"relay", "--metrics-listen=:9464", "--replication=3"}}, ""},
		{"unknown flag", corev1.Container{Args: []string{"relay", "--metric-listen=:9464"}}, "rejected the arguments"},
		{"bad value", corev1.Container{Args: []string{"push", "--max-conns=many"}}, "rejected the arguments"},
		{"another command's flag", corev1.Container{Args: []string{"analytics", "run", "--max-conns=10"}}, "rejected the arguments"},
		{"bare word", corev1.Container{Args: []string{"push", "--listen", ":8090"}}, "--name=value"},
		{"twice", corev1.Container{Args: []string{"push", "--listen=:1", "--listen=:2"}}, "given twice"},
		{"not a daemon", corev1.Container{Args: []string{"dev"}}, "no cachet daemon"},
		{"variable not read", corev1.Container{Args: []string{"analytics", "run"}, Env: []corev1.EnvVar{{Name: "CACHET_PEERS"}}}, "does not read it"},
		{"chaincode good", corev1.Container{Command: []string{"/usr/local/bin/cachet-chaincode"}, Env: []corev1.EnvVar{{Name: "CHAINCODE_ID"}}}, ""},
		{"chaincode unknown flag", corev1.Container{Command: []string{"/usr/local/bin/cachet-chaincode"}, Args: []string{"--adress=:1"}}, "rejected the arguments"},
		{"chaincode variable not read", corev1.Container{Command: []string{"/usr/local/bin/cachet-chaincode"}, Env: []corev1.EnvVar{{Name: "CHAINCODE_TLS_CA"}}}, "does not read it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			checkArgs(&r, bin, &tc.c)
			got := strings.Join(r.msgs, "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("want a report containing %q, got %q", tc.want, got)
			}
		})
	}
}

// hpaOf returns the autoscaler that scales the Deployment name.
func hpaOf(b *bundle, name string) *autoscalingv2.HorizontalPodAutoscaler {
	for _, h := range b.hpas {
		if h.Spec.ScaleTargetRef.Name == name {
			return h
		}
	}
	panic("no autoscaler for " + name)
}
