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
// the class's default, or the policy's. A condition that cannot be
// evaluated counts as matching for a deny or review rule and as not
// matching for an allow rule: a broken condition can only make the
// decision stricter. A review needs the most approvals any matching review
// rule or the class asks for.
func (p *Policy) Evaluate(req *Request, s *Subject) Outcome {
	class := p.Classes[s.Class]
	out := Outcome{Decision: p.Default, Rule: "default", Reason: "no rule matched; the policy default applies"}
	if class.Default != "" {
		out.Decision, out.Reason = class.Default, "no rule matched; the default of class "+s.Class+" applies"
	}
	var best *Rule
	approvals := 0
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
		if r.Decision == Review {
			approvals = max(approvals, r.Approvals)
		}
	}
	if best != nil {
		out.Decision, out.Rule = best.Decision, best.ID
		out.Reason = best.Reason
		if out.Reason == "" {
			out.Reason = best.Description
		}
	}
	out.Approvals = max(approvals, class.Approvals, 1)
	return out
}
