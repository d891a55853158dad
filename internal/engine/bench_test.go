package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/engine"
)

// typical is a mix of the commands agents send most.
var typical = []string{
	"git status",
	"ls -la src",
	"grep -rn 'func main' --include=*.go .",
	"go test ./...",
	"cat README.md | head -50",
	"npm run build",
	"git diff --stat HEAD~1",
	"find . -name '*.ts' | xargs wc -l",
	"rm -rf build/",
	"kubectl get pods -n staging",
}

func BenchmarkDecideShell(b *testing.B) {
	e := newEngine(b, nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Decide(context.Background(), engine.Request{Kind: "shell", Command: typical[i%len(typical)]}); err != nil {
			b.Fatal(err)
		}
	}
}

var typicalSQL = []string{
	"SELECT id, email FROM users WHERE id = 42",
	"UPDATE orders SET status = 'shipped' WHERE id = 7",
	"DELETE FROM sessions WHERE expires_at < now()",
	"SELECT o.id, sum(l.amount) FROM orders o JOIN lines l ON l.order_id = o.id GROUP BY o.id",
	"INSERT INTO events (kind, at) VALUES ('login', now())",
}

func BenchmarkDecideSQL(b *testing.B) {
	e := newEngine(b, nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Decide(context.Background(), engine.Request{Kind: "sql", Command: typicalSQL[i%len(typicalSQL)]}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecideMegabyte(b *testing.B) {
	e := newEngine(b, nil)
	cmd := "echo " + strings.Repeat("a", engine.MaxCommandBytes-len("echo "))
	for b.Loop() {
		if _, err := e.Decide(context.Background(), engine.Request{Command: cmd}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecideMegabyteOfCommands(b *testing.B) {
	e := newEngine(b, nil)
	cmd := strings.Repeat("ls -la; ", engine.MaxCommandBytes/8-1)
	for b.Loop() {
		if _, err := e.Decide(context.Background(), engine.Request{Command: cmd}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide10000Chained(b *testing.B) {
	e := newEngine(b, nil)
	cmd := strings.Repeat("git status && ", 9999) + "rm -rf build"
	for b.Loop() {
		if _, err := e.Decide(context.Background(), engine.Request{Command: cmd}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideEach reports each typical command on its own, so the
// median can be read off.
func BenchmarkDecideEach(b *testing.B) {
	e := newEngine(b, nil)
	for _, c := range typical {
		b.Run(c, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Decide(context.Background(), engine.Request{Kind: "shell", Command: c}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, c := range typicalSQL {
		b.Run(c, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Decide(context.Background(), engine.Request{Kind: "sql", Command: c}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
