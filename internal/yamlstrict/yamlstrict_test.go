package yamlstrict_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/yamlstrict"
)

type doc struct {
	Name  string            `yaml:"name"`
	Items []item            `yaml:"items"`
	Tags  map[string]string `yaml:"tags"`
}

type item struct {
	ID    string `yaml:"id"`
	Count int    `yaml:"count"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings of the error; none means success
	}{
		{"ok", "name: x\nitems:\n  - {id: a, count: 2}\ntags: {k: v}\n", nil},
		{"unknown key with suggestion", "name: x\nitems:\n  - {id: a, cuont: 2}\n", []string{`items[0].cuont (line 3): unknown key "cuont"; did you mean "count"?`}},
		{"unknown key lists known keys", "zzzzzz: 1\n", []string{`unknown key "zzzzzz"; known keys: items, name, tags`}},
		{"every error at once", "nam: x\nitems: {id: a}\n", []string{`nam (line 1): unknown key`, `items (line 2): want a list, got a map`}},
		{"type error names the path", "items:\n  - {id: a, count: many}\n", []string{"items[0].count (line 2): cannot use the text `many` as int"}},
		{"empty document", "", []string{"the document is empty"}},
		{"two documents", "name: a\n---\nname: b\n", []string{"more than one YAML document"}},
		{"syntax error", "name: [\n", []string{"line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := yamlstrict.Decode([]byte(tt.src), &d)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if d.Items[0].Count != 2 || d.Tags["k"] != "v" {
					t.Fatalf("decoded %+v", d)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	var d doc
	err := yamlstrict.Prefix(yamlstrict.Decode([]byte("nam: x\nitems: 3\n"), &d), "knowledge")
	var ye *yamlstrict.Error
	if !errors.As(err, &ye) || !strings.HasPrefix(ye.Path, "knowledge.") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "knowledge.items: want a list") {
		t.Errorf("got %q", err)
	}
}
