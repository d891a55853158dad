// Package shellcmd finds every command a bash command line would run and
// says what each would do.
//
// The analysis parses with mvdan.cc/sh (bash dialect) and then interprets the
// syntax tree statically: it walks lists, pipelines, subshells, functions,
// command and process substitutions, heredocs and nested shells; it folds
// constant variables and quoting into a canonical argv; it unwraps
// exec-forwarding wrappers (sudo, env, xargs, find -exec, ssh, ...); and it
// classifies each resulting command from a knowledge base kept as data
// (knowledge.yaml, extensible from policy). Whatever cannot be resolved
// statically becomes an opaque finding, which the policy can never allow.
//
// The result is a list of [analysis.Unit] values, one per command that would
// run.
package shellcmd
