// Package execute runs approved commands: shell commands in a target's
// workdir and SQL through pgx with the gateway's credential. It decides
// nothing; the gateway calls it only after a decision has been durably
// recorded.
//
// [Shell.Run] runs a command with bash in a clean environment and its own
// process group, bounded in time and output. [Postgres.Run] runs SQL in one
// transaction, bounded in time, output and rows affected ([Cap]), and
// [Postgres.Estimate] says, before anything runs, how many rows the SQL
// would touch. [CountFiles] gives the same kind of number for paths a shell
// command would touch.
package execute
