package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// overlays are the deployable kustomizations; base is only applied through them.
var overlays = []string{"dev", "prod", "gpu"}

// known maps each apiVersion/kind the layout may contain to its API type.
// Anything else fails the build: a new kind needs its checks here first.
var known = map[string]func() any{
	"v1/Namespace":                           func() any { return new(corev1.Namespace) },
	"v1/ServiceAccount":                      func() any { return new(corev1.ServiceAccount) },
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1/Ingress":           func() any { return new(networkingv1.Ingress) },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return new(networkingv1.NetworkPolicy) },
}

// bundle is one overlay as `kustomize build` renders it, decoded.
type bundle struct {
	overlay      string
	placeholders []string // generator files absent from the checkout, filled in for the build
	namespaces   []*corev1.Namespace
	accounts     map[string]*corev1.ServiceAccount
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     []*corev1.Service
	deployments  []*appsv1.Deployment
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	ingresses    []*networkingv1.Ingress
}

// deployment returns the Deployment whose component label is c.
func (b *bundle) deployment(c string) *appsv1.Deployment {
	for _, d := range b.deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == c {
			return d
		}
	}
	return nil
}

// rendered is one document of an overlay's kustomize output.
type rendered struct {
	id, name string // "apps/v1/Deployment", "apps/v1/Deployment cachet/cachet-push"
	raw      []byte // JSON
}

// renders caches each overlay's kustomize output: the tests that break a
// layout on purpose decode a fresh copy each time instead of building again.
var renders struct {
	sync.Mutex
	docs         map[string][]rendered
	placeholders map[string][]string
}

// render runs kustomize's library on an overlay, as `kustomize build`
// (and `kubectl apply -k`) would, once per test run.
func render(overlay string) ([]rendered, []string, error) {
	renders.Lock()
	defer renders.Unlock()
	if docs, ok := renders.docs[overlay]; ok {
		return docs, renders.placeholders[overlay], nil
	}
	mem, placeholders, err := loadTree(".", overlays)
	if err != nil {
		return nil, nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(mem, "/deploy/overlays/"+overlay)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build overlays/%s: %w", overlay, err)
	}
	var docs []rendered
	for _, r := range rm.Resources() {
		id := r.GetApiVersion() + "/" + r.GetKind()
		raw, err := r.MarshalJSON()
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", id, r.GetName(), err)
		}
		docs = append(docs, rendered{id: id, name: fmt.Sprintf("%s %s/%s", id, r.GetNamespace(), r.GetName()), raw: raw})
	}
	if renders.docs == nil {
		renders.docs, renders.placeholders = map[string][]rendered{}, map[string][]string{}
	}
	renders.docs[overlay], renders.placeholders[overlay] = docs, placeholders[overlay]
	return docs, placeholders[overlay], nil
}

// build renders an overlay and decodes every document strictly into its
// API type: an unknown kind or a misspelt field is an error.
func build(t *testing.T, overlay string) *bundle {
	t.Helper()
	docs, placeholders, err := render(overlay)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{overlay: overlay, placeholders: placeholders, accounts: map[string]*corev1.ServiceAccount{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	seen := map[string]bool{}
	for _, d := range docs {
		if seen[d.name] {
			t.Errorf("%s: %s twice", overlay, d.name)
		}
		seen[d.name] = true
		obj, err := decodeStrict(d.id, d.raw)
		if err != nil {
			t.Errorf("%s: %s: %v", overlay, d.name, err)
			continue
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			b.namespaces = append(b.namespaces, o)
		case *corev1.ServiceAccount:
			b.accounts[o.Name] = o
		case *corev1.ConfigMap:
			b.configMaps[o.Name] = o
		case *corev1.Secret:
			b.secrets[o.Name] = o
		case *corev1.Service:
			b.services = append(b.services, o)
		case *appsv1.Deployment:
			b.deployments = append(b.deployments, o)
		case *policyv1.PodDisruptionBudget:
			b.pdbs = append(b.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			b.hpas = append(b.hpas, o)
		case *networkingv1.Ingress:
			b.ingresses = append(b.ingresses, o)
		}
	}
	for _, c := range []string{"chaincode", "relay", "push", "analytics"} {
		if b.deployment(c) == nil {
			t.Fatalf("%s: no Deployment for %s", overlay, c)
		}
	}
	return b
}

// decodeStrict decodes a document of type id ("apps/v1/Deployment") into
// its API type, refusing fields the type does not have.
func decodeStrict(id string, raw []byte) (any, error) {
	mk, ok := known[id]
	if !ok {
		return nil, fmt.Errorf("unknown apiVersion/kind %s", id)
	}
	obj := mk()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("does not decode as %s: %w", id, err)
	}
	return obj, nil
}

// loadTree copies the deploy folder (YAML only) into an in-memory file
// system under /deploy. Files the overlays' generators read from secrets/
// are kept out of git; where one is absent a placeholder stands in, as the
// operator's file would, and is reported per overlay.
func loadTree(dir string, overlays []string) (filesys.FileSystem, map[string][]string, error) {
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") && !strings.Contains(filepath.ToSlash(p), "/secrets/") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/deploy", filepath.ToSlash(p)), data)
	})
	if err != nil {
		return nil, nil, err
	}
	placeholders := map[string][]string{}
	for _, o := range overlays {
		k, err := readKustomization(filepath.Join(dir, "overlays", o))
		if err != nil {
			return nil, nil, err
		}
		for _, src := range generatorFiles(k) {
			p := path.Join("/deploy/overlays", o, src)
			if mem.Exists(p) {
				continue
			}
			if err := mem.WriteFile(p, []byte("placeholder for "+src+"\n")); err != nil {
				return nil, nil, err
			}
			placeholders[o] = append(placeholders[o], src)
		}
	}
	return mem, placeholders, nil
}

// readKustomization decodes dir's kustomization.yaml strictly.
func readKustomization(dir string) (*types.Kustomization, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k types.Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	return &k, nil
}

// generatorFiles lists the paths the Secret and ConfigMap generators read.
func generatorFiles(k *types.Kustomization) []string {
	var srcs []string
	for _, g := range k.SecretGenerator {
		srcs = append(srcs, g.FileSources...)
	}
	for _, g := range k.ConfigMapGenerator {
		srcs = append(srcs, g.FileSources...)
	}
	for i, s := range srcs {
		if _, p, ok := strings.Cut(s, "="); ok {
			srcs[i] = p
		}
	}
	return srcs
}
