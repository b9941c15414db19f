package purgeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

type oaDoc struct {
	Paths      map[string]map[string]oaOperation `json:"paths"`
	Components struct {
		Schemas   map[string]oaSchema   `json:"schemas"`
		Responses map[string]oaResponse `json:"responses"`
	} `json:"components"`
}

type oaOperation struct {
	RequestBody *struct {
		Content map[string]oaMedia `json:"content"`
	} `json:"requestBody"`
	Responses map[string]oaResponse `json:"responses"`
}

type oaResponse struct {
	Ref     string             `json:"$ref"`
	Content map[string]oaMedia `json:"content"`
}

type oaMedia struct {
	Schema   oaSchema                   `json:"schema"`
	Example  json.RawMessage            `json:"example"`
	Examples map[string]json.RawMessage `json:"examples"`
}

type oaSchema struct {
	Ref        string              `json:"$ref"`
	Type       string              `json:"type"`
	Items      *oaSchema           `json:"items"`
	Properties map[string]oaSchema `json:"properties"`
	MaxItems   int                 `json:"maxItems"`
	MaxLength  int                 `json:"maxLength"`
	Enum       []string            `json:"enum"`
}

func loadDoc(t *testing.T) oaDoc {
	t.Helper()
	var d oaDoc
	if err := json.Unmarshal(OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// Every route in the mux is documented and every documented route exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadDoc(t)
	var documented, served []string
	for path, ops := range d.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	for _, rt := range routes {
		served = append(served, rt.pattern)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented %v\nserved     %v", documented, served)
	}
	h := newHarness(t, nil)
	w := h.do("GET", "/v1/openapi.json", "", "")
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), OpenAPI()) {
		t.Errorf("GET /v1/openapi.json: %d, %d bytes", w.Code, w.Body.Len())
	}
}

// schemaTypes are the Go types the document's schemas describe.
var schemaTypes = map[string]reflect.Type{
	"PurgeRequest":    reflect.TypeFor[PurgeRequest](),
	"PurgeResult":     reflect.TypeFor[PurgeResult](),
	"Committed":       reflect.TypeFor[Committed](),
	"KeyVersion":      reflect.TypeFor[KeyVersion](),
	"ScopeGeneration": reflect.TypeFor[ScopeGeneration](),
	"State":           reflect.TypeFor[string](),
	"Entry":           reflect.TypeFor[Entry](),
	"HistoryRecord":   reflect.TypeFor[HistoryRecord](),
	"Party":           reflect.TypeFor[Party](),
	"Policy":          reflect.TypeFor[Policy](),
	"TxStatus":        reflect.TypeFor[TxStatus](),
	"Problem":         reflect.TypeFor[Problem](),
}

// goType is the Go type a media schema names; nil for free-form objects.
func goType(t *testing.T, s oaSchema) reflect.Type {
	if s.Ref != "" {
		typ, ok := schemaTypes[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		if !ok {
			t.Fatalf("no Go type for %s", s.Ref)
		}
		return typ
	}
	if s.Type == "array" && s.Items != nil {
		return reflect.SliceOf(goType(t, *s.Items))
	}
	return nil
}

func decodeStrict(raw json.RawMessage, typ reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(reflect.New(typ).Interface())
}

// Every example in the document decodes into its Go type with no field
// left over, and the schemas name the Go types' JSON fields.
func TestOpenAPIExamplesDecode(t *testing.T) {
	d := loadDoc(t)
	checked := 0
	check := func(where string, m oaMedia) {
		typ := goType(t, m.Schema)
		if typ == nil {
			return
		}
		examples := map[string]json.RawMessage{}
		maps := m.Examples
		for name, ex := range maps {
			var wrapped struct {
				Value json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(ex, &wrapped); err != nil || wrapped.Value == nil {
				t.Errorf("%s example %s has no value", where, name)
			}
			examples[name] = wrapped.Value
		}
		if m.Example != nil {
			examples["example"] = m.Example
		}
		if len(examples) == 0 {
			t.Errorf("%s has no example", where)
		}
		for name, raw := range examples {
			if err := decodeStrict(raw, typ); err != nil {
				t.Errorf("%s example %s does not decode into %v: %v", where, name, typ, err)
			}
			checked++
		}
	}
	for path, ops := range d.Paths {
		for method, op := range ops {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				for _, m := range op.RequestBody.Content {
					check(where+" request", m)
				}
			}
			for status, r := range op.Responses {
				if r.Ref != "" {
					name := strings.TrimPrefix(r.Ref, "#/components/responses/")
					if _, ok := d.Components.Responses[name]; !ok {
						t.Errorf("%s %s: no response %s", where, status, name)
					}
					continue
				}
				for _, m := range r.Content {
					check(fmt.Sprintf("%s %s", where, status), m)
				}
			}
		}
	}
	for name, r := range d.Components.Responses {
		for _, m := range r.Content {
			check("response "+name, m)
		}
	}
	if checked < 15 {
		t.Errorf("only %d examples checked", checked)
	}
	for name, s := range d.Components.Schemas {
		typ, ok := schemaTypes[name]
		if !ok {
			t.Errorf("schema %s has no Go type", name)
			continue
		}
		if typ.Kind() != reflect.Struct {
			continue
		}
		var fields []string
		for f := range typ.Fields() {
			fields = append(fields, strings.Split(f.Tag.Get("json"), ",")[0])
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		if !slices.Equal(fields, props) {
			t.Errorf("schema %s properties %v, Go fields %v", name, props, fields)
		}
	}
}

// The limits in the document are the exported constants, and the refusal
// codes it lists are the package's.
func TestOpenAPILimitsAndCodes(t *testing.T) {
	d := loadDoc(t)
	req := d.Components.Schemas["PurgeRequest"].Properties
	for field, want := range map[string]int{"keys": MaxKeys, "tags": MaxTags, "prefixes": MaxPrefixes, "hosts": MaxHosts} {
		if got := req[field].MaxItems; got != want {
			t.Errorf("%s maxItems %d, want %d", field, got, want)
		}
	}
	if got := req["reason"].MaxLength; got != MaxReasonBytes {
		t.Errorf("reason maxLength %d, want %d", got, MaxReasonBytes)
	}
	var codes []string
	for _, c := range Codes {
		codes = append(codes, string(c))
	}
	if got := d.Components.Schemas["Problem"].Properties["code"].Enum; !slices.Equal(got, codes) {
		t.Errorf("Problem codes %v\nwant %v", got, codes)
	}
	if !strings.Contains(string(OpenAPI()), fmt.Sprintf("body %d MiB", DefaultMaxBodyBytes>>20)) {
		t.Errorf("the document does not state the body limit of %d MiB", DefaultMaxBodyBytes>>20)
	}
}
