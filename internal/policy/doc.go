// Package policy loads Gatehouse policies and evaluates them.
//
// A policy is YAML (version: 1), decoded strictly. Its rules match on the
// analysis of each command that would run (kind, program, subcommand,
// effects, paths, SQL statement and tables, target and class, risk) and may
// add a CEL condition over the request, the unit, its impact and its risk.
// Deny beats review beats allow; a command no rule matches gets the
// policy's default (review). A policy carries its own examples, which
// "gatehouse policy test" runs. The built-in default policy (default.yaml)
// is an embedded file of the same format.
package policy
