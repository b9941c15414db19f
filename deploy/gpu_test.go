package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const gpuResource corev1.ResourceName = "nvidia.com/gpu"

// TestGPUOverlay: only overlays/gpu gives analytics a GPU, and there it
// runs the CUDA image and scorer on GPU nodes; no other daemon asks for one.
func TestGPUOverlay(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			b := build(t, o)
			for _, d := range b.deployments {
				c := d.Spec.Template.Spec.Containers[0]
				gpus := c.Resources.Limits[gpuResource]
				onGPU := o == "gpu" && d.Name == "cachet-analytics"
				if !onGPU {
					if !gpus.IsZero() || strings.HasSuffix(c.Image, "-cuda") {
						t.Errorf("Deployment %s asks for %s GPUs with image %s; only analytics in overlays/gpu runs on one", d.Name, gpus.String(), c.Image)
					}
					continue
				}
				if !gpus.Equal(resource.MustParse("1")) {
					t.Errorf("analytics limits %s to %s, want 1", gpuResource, gpus.String())
				}
				if !strings.HasSuffix(c.Image, "-cuda") {
					t.Errorf("analytics runs %s, want the CUDA build (tag suffix -cuda)", c.Image)
				}
				if !slices.Contains(c.Args, "--engine=cuda") || slices.Contains(c.Args, "--engine=cpu") {
					t.Errorf("analytics args %v, want --engine=cuda", c.Args)
				}
				pod := d.Spec.Template.Spec
				if pod.NodeSelector["nvidia.com/gpu.present"] != "true" {
					t.Errorf("analytics node selector %v, want nvidia.com/gpu.present=true", pod.NodeSelector)
				}
				if !slices.ContainsFunc(pod.Tolerations, func(tl corev1.Toleration) bool {
					return tl.Key == string(gpuResource) && tl.Effect == corev1.TaintEffectNoSchedule
				}) {
					t.Errorf("analytics tolerations %v: none for the %s taint", pod.Tolerations, gpuResource)
				}
			}
		})
	}
}

// TestNetworkPolicies: every Deployment's pods are selected by exactly one
// NetworkPolicy, which restricts both directions, and every port a policy
// admits is one the pods declare.
func TestNetworkPolicies(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			b := build(t, o)
			docs, _, err := render(o)
			if err != nil {
				t.Fatal(err)
			}
			var policies []*networkingv1.NetworkPolicy
			for _, d := range docs {
				if d.id != "networking.k8s.io/v1/NetworkPolicy" {
					continue
				}
				np := new(networkingv1.NetworkPolicy)
				if err := json.Unmarshal(d.raw, np); err != nil {
					t.Fatal(err)
				}
				policies = append(policies, np)
			}
			for _, d := range b.deployments {
				pod := d.Spec.Template
				var mine []*networkingv1.NetworkPolicy
				for _, np := range policies {
					sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
					if err != nil {
						t.Fatalf("NetworkPolicy %s: %v", np.Name, err)
					}
					if sel.Matches(labels.Set(pod.Labels)) {
						mine = append(mine, np)
					}
				}
				if len(mine) != 1 {
					t.Errorf("Deployment %s: %d NetworkPolicies select its pods, want 1", d.Name, len(mine))
					continue
				}
				np := mine[0]
				if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
					t.Errorf("NetworkPolicy %s restricts %v, want Ingress and Egress", np.Name, np.Spec.PolicyTypes)
				}
				declared := map[string]bool{}
				for _, c := range pod.Spec.Containers {
					for _, p := range c.Ports {
						declared[p.Name] = true
					}
				}
				for _, in := range np.Spec.Ingress {
					for _, p := range in.Ports {
						if p.Port == nil || !declared[p.Port.String()] {
							t.Errorf("NetworkPolicy %s admits port %v, which Deployment %s does not declare by name", np.Name, p.Port, d.Name)
						}
					}
				}
			}
		})
	}
}
