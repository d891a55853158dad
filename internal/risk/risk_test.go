package risk_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/risk"
)

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		score int
		want  risk.Level
	}{{0, risk.Low}, {29, risk.Low}, {30, risk.Medium}, {59, risk.Medium}, {60, risk.High}, {79, risk.High}, {80, risk.Critical}, {100, risk.Critical}} {
		if got := risk.LevelOf(tt.score); got != tt.want {
			t.Errorf("LevelOf(%d) = %s, want %s", tt.score, got, tt.want)
		}
	}
}

func sum(s risk.Score) int {
	n := 0
	for _, f := range s.Factors {
		n += f.Points
	}
	return min(n, 100)
}

func TestScore(t *testing.T) {
	bulkDelete := &analysis.Unit{Kind: analysis.KindSQL, Effects: analysis.Effects(analysis.Destructive, analysis.RemoteMutation),
		Scopes: analysis.Scopes(analysis.Bulk), Findings: []analysis.Finding{{Kind: analysis.FindingNoWhere}, {Kind: analysis.FindingIrreversible}}}
	read := &analysis.Unit{Kind: analysis.KindShell, Effects: analysis.Effects(analysis.Read), Scopes: analysis.Scopes(analysis.Recursive)}
	rootDelete := &analysis.Unit{Kind: analysis.KindShell, Effects: analysis.Effects(analysis.Destructive),
		Scopes: analysis.Scopes(analysis.Recursive, analysis.Force), Paths: []analysis.Path{{Value: "/", Class: analysis.Root, Access: analysis.AccessDelete}}}
	rows := int64(50000)
	tests := []struct {
		name    string
		u       *analysis.Unit
		class   string
		impact  *risk.Impact
		min     int
		max     int
		mention []string
	}{
		{"a recursive read is not a risk", read, "non-critical", nil, 0, 0, nil},
		{"bulk delete on customer data", bulkDelete, "customer-data", nil, 80, 100,
			[]string{"deletes or overwrites data", "bulk", "customer data", "irreversible", "without a WHERE"}},
		{"the same on a non-critical target scores lower", bulkDelete, "non-critical", nil, 70, 90, nil},
		{"many rows add points", bulkDelete, "non-critical", &risk.Impact{EstimatedRows: &rows, Estimated: true}, 90, 100, []string{"about 50000 rows"}},
		{"an estimate that failed counts as large", bulkDelete, "non-critical", &risk.Impact{Estimated: true}, 90, 100, []string{"could not be estimated"}},
		{"rm -rf / is critical", rootDelete, "non-critical", nil, 100, 100, []string{"root filesystem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := risk.ScoreUnit(tt.u, tt.class, tt.impact)
			if s.Score < tt.min || s.Score > tt.max {
				t.Errorf("score %d, want %d..%d (%s)", s.Score, tt.min, tt.max, s.Summary())
			}
			if sum(s) != s.Score {
				t.Errorf("factors add up to %d, score is %d", sum(s), s.Score)
			}
			if s.Level != risk.LevelOf(s.Score) {
				t.Errorf("level %s for score %d", s.Level, s.Score)
			}
			text := s.Summary()
			for _, f := range s.Factors {
				text += "; " + f.Text
			}
			for _, m := range tt.mention {
				if !strings.Contains(text, m) {
					t.Errorf("reasons %q do not mention %q", text, m)
				}
			}
			again := risk.ScoreUnit(tt.u, tt.class, tt.impact)
			if again.Summary() != s.Summary() {
				t.Errorf("not deterministic: %q then %q", s.Summary(), again.Summary())
			}
		})
	}
}
