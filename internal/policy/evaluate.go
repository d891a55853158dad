package policy

// Outcome is the policy's decision for one unit.
type Outcome struct {
	Decision  Decision
	Rule      string // the rule that decided; "default" when none matched
	Reason    string
	Approvals int
	Matched   []string // every rule that matched, in policy order
	Errors    []string // conditions that could not be evaluated
}

// Evaluate decides one unit. Deny beats review beats allow; no match means
// the policy default. A condition that cannot be evaluated counts as
// matching for a deny or review rule and as not matching for an allow rule:
// a broken condition can only make the decision stricter.
func (p *Policy) Evaluate(req *Request, s *Subject) Outcome {
	out := Outcome{Decision: p.Default, Rule: "default", Reason: "no rule matched; the policy default applies"}
	var best *Rule
	for _, r := range p.Rules {
		if !r.Match.matches(s) {
			continue
		}
		if r.program != nil {
			ok, err := r.evalCondition(req, s)
			if err != nil {
				out.Errors = append(out.Errors, err.Error())
				if r.Decision == Allow {
					continue
				}
			} else if !ok {
				continue
			}
		}
		out.Matched = append(out.Matched, r.ID)
		if best == nil || r.Decision.Stricter(best.Decision) {
			best = r
		}
	}
	if best != nil {
		out.Decision, out.Rule = best.Decision, best.ID
		out.Reason = best.Reason
		if out.Reason == "" {
			out.Reason = best.Description
		}
		out.Approvals = best.Approvals
	}
	if out.Approvals == 0 {
		out.Approvals = p.Classes[s.Class].Approvals
	}
	if out.Approvals == 0 {
		out.Approvals = 1
	}
	return out
}
