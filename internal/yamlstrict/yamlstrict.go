// Package yamlstrict decodes YAML strictly: an unknown key, a list where a
// map belongs or a value of the wrong type is an error that names the YAML
// path (targets.app-db.dsn_env), the bad value and, where it can, the fix.
//
// Configuration and policy files are security controls; a misspelt key that
// is silently ignored is a control silently switched off.
package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a YAML document, at a path.
type Error struct {
	Path string // dotted path, e.g. rules[2].decision; empty for the document
	Line int
	Msg  string
}

func (e *Error) Error() string {
	where := e.Path
	if where == "" {
		where = "(document)"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", where, e.Line, e.Msg)
	}
	return where + ": " + e.Msg
}

// Errorf builds an error at a path, for validation after decoding.
func Errorf(path string, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Decode decodes data into v, which must be a pointer to a struct. Every
// problem found is reported, joined with errors.Join.
func Decode(data []byte, v any) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{Msg: "the document is empty"}
		}
		return &Error{Msg: cleanYAMLError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &Error{Msg: "more than one YAML document; put everything in one"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	c := &checker{lines: map[int]string{}, scalars: map[int][]scalarPath{}}
	c.check(root, reflect.TypeOf(v).Elem(), "")
	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	if err := root.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var errs []error
			for _, m := range te.Errors {
				errs = append(errs, c.typeError(m))
			}
			return errors.Join(errs...)
		}
		return &Error{Msg: cleanYAMLError(err)}
	}
	return nil
}

var yamlLinePrefix = regexp.MustCompile(`^yaml: (line (\d+): )?`)

// cleanYAMLError drops the library's "yaml:" prefix, keeping the line
// number when there is one.
func cleanYAMLError(err error) string {
	m := yamlLinePrefix.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	rest := err.Error()[len(m[0]):]
	if m[2] == "" {
		return rest
	}
	return "line " + m[2] + ": " + rest
}

type checker struct {
	errs    []error
	lines   map[int]string       // line → path of the first value on it
	scalars map[int][]scalarPath // line → every scalar on it, for type errors
}

type scalarPath struct{ value, path string }

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (c *checker) add(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, &Error{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Line > 0 {
		if _, ok := c.lines[n.Line]; !ok {
			c.lines[n.Line] = path
		}
		if n.Kind == yaml.ScalarNode {
			c.scalars[n.Line] = append(c.scalars[n.Line], scalarPath{n.Value, path})
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t == reflect.TypeFor[yaml.Node]() {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.add(n, path, "want a map of keys, got %s", kindName(n))
			return
		}
		fields := structFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				c.add(k, p, "unknown key %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			c.check(val, f, p)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(n, path, "want a map, got %s", kindName(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(n, path, "want a list, got %s", kindName(n))
			return
		}
		for i, e := range n.Content {
			c.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Interface:
		return
	default:
		if n.Kind != yaml.ScalarNode {
			c.add(n, path, "want a single value, got %s", kindName(n))
		}
	}
}

func (c *checker) typeError(msg string) error {
	// yaml.v3 says "line 7: cannot unmarshal !!str `abc` into int".
	var line int
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			line, _ = strconv.Atoi(rest[:i])
			msg = strings.TrimSpace(rest[i+1:])
		}
	}
	path := c.lines[line]
	// The message quotes the bad value: `two`. Find the scalar on that line.
	if i := strings.IndexByte(msg, '`'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '`'); j >= 0 {
			val := msg[i+1 : i+1+j]
			for _, sp := range c.scalars[line] {
				if sp.value == val {
					path = sp.path
					break
				}
			}
		}
	}
	msg = strings.Replace(msg, "cannot unmarshal !!str", "cannot use the text", 1)
	msg = strings.Replace(msg, "cannot unmarshal !!int", "cannot use the number", 1)
	msg = strings.Replace(msg, "cannot unmarshal !!bool", "cannot use the boolean", 1)
	msg = strings.Replace(msg, "cannot unmarshal !!seq", "cannot use a list", 1)
	msg = strings.Replace(msg, "cannot unmarshal !!map", "cannot use a map", 1)
	msg = strings.Replace(msg, " into ", " as ", 1)
	return &Error{Path: path, Line: line, Msg: msg}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// suggest proposes the closest known key.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range fields {
		if d := distance(key, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		slices.Sort(names)
		return "; known keys: " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Prefix returns err with every path in it placed under prefix, for a
// document decoded out of a section of a larger one.
func Prefix(err error, prefix string) error {
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, Prefix(e, prefix))
		}
		return errors.Join(out...)
	}
	var ye *Error
	if errors.As(err, &ye) {
		cp := *ye
		cp.Path = join(prefix, ye.Path)
		cp.Line = 0 // lines refer to the section, not the file
		return &cp
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
