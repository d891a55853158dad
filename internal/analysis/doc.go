// Package analysis is the shared vocabulary of what a command would do.
//
// The shell analysis (package shellcmd) and the SQL analysis (package
// sqlcheck) both describe each command that would run as a [Unit]: its
// effect classes, its scope, the paths it touches and the findings that make
// it opaque. Risk scoring and policy evaluation read only Units, so every
// front door and every command kind is judged by the same rules.
package analysis
