package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/policy"
)

// corpusCase is one line of testdata/corpus/*.jsonl.
type corpusCase struct {
	ID      string `json:"id"`
	Class   string `json:"class"`
	Kind    string `json:"kind"`
	Command string `json:"command"`
	Expect  string `json:"expect"` // allow, review, deny, or blocked (review or deny)
	Note    string `json:"note"`
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	files, err := filepath.Glob("../../testdata/corpus/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var cases []corpusCase
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for n := 1; sc.Scan(); n++ {
			if len(sc.Bytes()) == 0 {
				continue
			}
			var c corpusCase
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s:%d: %v", f, n, err)
			}
			cases = append(cases, c)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return cases
}

// TestCorpus runs the attack and everyday corpus (THREATS.md, many
// spellings per class) through the engine with the built-in policy.
func TestCorpus(t *testing.T) {
	e := newEngine(t, nil)
	cases := loadCorpus(t)
	byExpect := map[string]int{}
	for _, c := range cases {
		byExpect[c.Expect]++
		t.Run(c.ID, func(t *testing.T) {
			d, err := e.Decide(context.Background(), engine.Request{Kind: c.Kind, Command: c.Command})
			if err != nil {
				if c.Expect == "allow" {
					t.Fatalf("%s: error %v; want allow", c.Command, err)
				}
				return // refused input is never allowed
			}
			ok := false
			switch c.Expect {
			case "allow":
				ok = d.Decision == policy.Allow
			case "review":
				ok = d.Decision == policy.Review
			case "deny":
				ok = d.Decision == policy.Deny
			case "blocked":
				ok = d.Decision != policy.Allow
			default:
				t.Fatalf("bad expectation %q", c.Expect)
			}
			if !ok {
				t.Errorf("[%s] %.300s\n  want %s, got %s by %s: %s\n  note: %s", c.Class, c.Command, c.Expect, d.Decision, d.Rule, d.Summary, c.Note)
			}
		})
	}
	if byExpect["allow"] < 150 || byExpect["blocked"]+byExpect["deny"]+byExpect["review"] < 400 {
		t.Errorf("corpus too small: %v", byExpect)
	}
}
