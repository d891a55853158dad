package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/client"
)

func post(t *testing.T, url, token, ctype string, body []byte) (int, client.ErrorBody) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb client.ErrorBody
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &eb)
	return resp.StatusCode, eb
}

// TestBadInputChangesNothing sends malformed bodies: each gets a 400 with
// a message that says what is wrong, and the audit trail does not grow.
func TestBadInputChangesNothing(t *testing.T) {
	addr, admin := newAPI(t)
	ctx := context.Background()
	s, err := client.New(addr, admin).StartSession(ctx, client.StartSession{Agent: "a", Grants: []string{"local:write"}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := client.New(addr, admin).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	huge := `{"target":"local","command":"` + strings.Repeat("a", 4<<20) + `"}`
	tests := []struct {
		name, body, want string
	}{
		{"malformed", `{"target": "local", "command": `, "malformed JSON"},
		{"not an object", `["ls"]`, "malformed JSON"},
		{"unknown field", `{"target":"local","command":"ls","sudo":true}`, `unknown field "sudo"`},
		{"two values", `{"target":"local","command":"ls"} {"target":"local","command":"rm -rf /"}`, "more than one value"},
		{"invalid UTF-8", "{\"target\":\"local\",\"command\":\"ls \xff\"}", "not valid UTF-8"},
		{"oversized", huge, "larger than"},
		{"command too large", `{"target":"local","command":"` + strings.Repeat("a", 1<<20+1) + `"}`, "larger than"},
		{"NUL", `{"target":"local","command":"ls\u0000"}`, "NUL"},
		{"empty command", `{"target":"local","command":"  "}`, "empty command"},
		{"unknown target", `{"target":"prod","command":"ls"}`, `no target named "prod"`},
		{"bad mode", `{"target":"local","command":"ls","mode":"yolo"}`, "want execute or authorize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, eb := post(t, addr+"/v1/requests", s.Token, "application/json", []byte(tt.body))
			if code != http.StatusBadRequest || eb.Code != "invalid_request" || !strings.Contains(eb.Error, tt.want) {
				t.Errorf("got %d %q %q, want 400 mentioning %q", code, eb.Code, eb.Error, tt.want)
			}
		})
	}
	after, err := client.New(addr, admin).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Events != before.Events {
		t.Errorf("bad input added %d audit events", after.Events-before.Events)
	}
}

func TestTokensAndRoles(t *testing.T) {
	addr, admin := newAPI(t)
	ctx := context.Background()
	tests := []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "ghs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", http.StatusUnauthorized},
		{"admin token submits", admin, http.StatusForbidden},
	}
	for _, tt := range tests {
		code, eb := post(t, addr+"/v1/requests", tt.token, "application/json", []byte(`{"target":"local","command":"ls"}`))
		if code != tt.want || eb.Error == "" {
			t.Errorf("%s: %d %q, want %d", tt.name, code, eb.Error, tt.want)
		}
	}
	s, err := client.New(addr, admin).StartSession(ctx, client.StartSession{Agent: "a", Grants: []string{"local:write"}})
	if err != nil {
		t.Fatal(err)
	}
	agent := client.New(addr, s.Token)
	var ae *client.Error
	if _, err := agent.StartSession(ctx, client.StartSession{Agent: "b", Grants: []string{"local:admin"}}); !asStatus(err, &ae, http.StatusForbidden) {
		t.Errorf("an agent started a session: %v", err)
	}
	if _, err := agent.Pending(ctx); !asStatus(err, &ae, http.StatusForbidden) {
		t.Errorf("an agent listed reviews: %v", err)
	}
	if _, err := agent.Verify(ctx); !asStatus(err, &ae, http.StatusForbidden) {
		t.Errorf("an agent verified the trail: %v", err)
	}
	if _, err := client.New(addr, admin).EndSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Submit(ctx, client.Submit{Target: "local", Command: "ls"}); !asStatus(err, &ae, http.StatusUnauthorized) {
		t.Errorf("an ended session submitted: %v", err)
	}
}

func asStatus(err error, ae **client.Error, status int) bool {
	return errors.As(err, ae) && (*ae).Status == status
}

func readSource(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

// TestOpenAPIDescribesEveryRoute checks that the document served is JSON
// and names every route the server registers, and no other.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	addr, _ := newAPI(t)
	resp, err := http.Get(addr + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %v %q", err, doc.OpenAPI)
	}
	src, err := readSource("server.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`HandleFunc\("(GET|POST|DELETE|PUT|PATCH) (/v1/[^"]*)"`).FindAllStringSubmatch(src, -1)
	seen := map[string]bool{}
	for _, r := range routes {
		method, path := strings.ToLower(r[1]), r[2]
		seen[method+" "+path] = true
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("%s %s is served but not in openapi.json", r[1], path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !seen[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not served", method, path)
			}
		}
	}
	if len(routes) < 10 {
		t.Errorf("found only %d routes in server.go", len(routes))
	}
}

// TestErrorsAreJSON: an unknown endpoint is a JSON 404, and the
// responses carry no-store and nosniff.
func TestErrorsAreJSON(t *testing.T) {
	addr, _ := newAPI(t)
	resp, err := http.Get(addr + "/v1/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb client.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || resp.StatusCode != 404 || eb.Code != "not_found" {
		t.Errorf("unknown endpoint: %d %+v %v", resp.StatusCode, eb, err)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
}
