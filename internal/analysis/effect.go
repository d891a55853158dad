package analysis

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
)

//go:generate go tool stringer -type=Effect,Scope,PathClass,Access,Kind -linecomment -output=names_string.go

// Effect is one class of consequence a command can have.
type Effect uint8

// The effect classes. The order is the order in which they are listed.
const (
	Read           Effect = iota // read
	Network                      // network
	LocalWrite                   // local-write
	WorkspaceExec                // workspace-exec
	Destructive                  // destructive
	RemoteMutation               // remote-mutation
	Privilege                    // privilege
	SecretRead                   // secret-read
	Exfiltration                 // exfiltration
	RemoteCode                   // remote-code
	Publish                      // publish
	ProcessControl               // process-control
	Opaque                       // opaque
	Unknown                      // unknown
	numEffects
)

// Scope is a qualifier that widens what a command touches.
type Scope uint8

// The scopes.
const (
	Recursive     Scope = iota // recursive
	Bulk                       // bulk
	Force                      // force
	AllNamespaces              // all-namespaces
	Production                 // production
	Remote                     // remote-host
	Background                 // background
	numScopes
)

// PathClass says where a path lies, from the workspace outwards.
type PathClass uint8

// The path classes.
const (
	Workspace   PathClass = iota // workspace
	Temp                         // temp
	Home                         // home
	Outside                      // outside
	System                       // system
	Root                         // root
	Secret                       // secret
	Device                       // device
	UnknownPath                  // unknown
	GatewayPath                  // gateway
	numPathClasses
)

// Access is what a command does to a path.
type Access uint8

// The kinds of access.
const (
	AccessRead   Access = iota // read
	AccessWrite                // write
	AccessDelete               // delete
	AccessExec                 // exec
)

// Kind is the kind of command a unit is.
type Kind uint8

// The command kinds.
const (
	KindShell Kind = iota // shell
	KindSQL               // sql
	KindHTTP              // http
)

// ParseEffect returns the effect named s.
func ParseEffect(s string) (Effect, error) {
	for e := range numEffects {
		if e.String() == s {
			return e, nil
		}
	}
	return 0, fmt.Errorf("unknown effect %q (want one of %s)", s, strings.Join(EffectNames(), ", "))
}

// EffectNames lists every effect name.
func EffectNames() []string {
	names := make([]string, 0, numEffects)
	for e := range numEffects {
		names = append(names, e.String())
	}
	return names
}

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, error) {
	for sc := range numScopes {
		if sc.String() == s {
			return sc, nil
		}
	}
	return 0, fmt.Errorf("unknown scope %q (want one of %s)", s, strings.Join(ScopeNames(), ", "))
}

// ScopeNames lists every scope name.
func ScopeNames() []string {
	names := make([]string, 0, numScopes)
	for s := range numScopes {
		names = append(names, s.String())
	}
	return names
}

// ParsePathClass returns the path class named s.
func ParsePathClass(s string) (PathClass, error) {
	for c := range numPathClasses {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown path class %q (want one of %s)", s, strings.Join(PathClassNames(), ", "))
}

// PathClassNames lists every path class name.
func PathClassNames() []string {
	names := make([]string, 0, numPathClasses)
	for c := range numPathClasses {
		names = append(names, c.String())
	}
	return names
}

// ParseAccess returns the access named s.
func ParseAccess(s string) (Access, error) {
	for a := range AccessExec + 1 {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown access %q (want read, write, delete or exec)", s)
}

// ParseKind returns the command kind named s.
func ParseKind(s string) (Kind, error) {
	for k := range KindHTTP + 1 {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown kind %q (want shell, sql or http)", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler].
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// EffectSet is a set of effects.
type EffectSet uint32

// Effects builds a set from its members.
func Effects(es ...Effect) EffectSet {
	var s EffectSet
	for _, e := range es {
		s = s.With(e)
	}
	return s
}

// With returns s with e added.
func (s EffectSet) With(e Effect) EffectSet { return s | 1<<e }

// Has reports whether e is in s.
func (s EffectSet) Has(e Effect) bool { return s&(1<<e) != 0 }

// Any reports whether s and o share a member.
func (s EffectSet) Any(o EffectSet) bool { return s&o != 0 }

// Within reports whether every member of s is in o.
func (s EffectSet) Within(o EffectSet) bool { return s&^o == 0 }

// Len is the number of members.
func (s EffectSet) Len() int { return bits.OnesCount32(uint32(s)) }

// List returns the members in their canonical order.
func (s EffectSet) List() []Effect {
	out := make([]Effect, 0, s.Len())
	for e := range numEffects {
		if s.Has(e) {
			out = append(out, e)
		}
	}
	return out
}

// Strings returns the members' names in canonical order.
func (s EffectSet) Strings() []string {
	out := make([]string, 0, s.Len())
	for _, e := range s.List() {
		out = append(out, e.String())
	}
	return out
}

func (s EffectSet) String() string { return strings.Join(s.Strings(), ",") }

// MarshalJSON encodes the set as a list of names.
func (s EffectSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.Strings()) }

// ScopeSet is a set of scopes.
type ScopeSet uint16

// Scopes builds a set from its members.
func Scopes(ss ...Scope) ScopeSet {
	var s ScopeSet
	for _, x := range ss {
		s = s.With(x)
	}
	return s
}

// With returns s with x added.
func (s ScopeSet) With(x Scope) ScopeSet { return s | 1<<x }

// Has reports whether x is in s.
func (s ScopeSet) Has(x Scope) bool { return s&(1<<x) != 0 }

// Any reports whether s and o share a member.
func (s ScopeSet) Any(o ScopeSet) bool { return s&o != 0 }

// Strings returns the members' names in canonical order.
func (s ScopeSet) Strings() []string {
	out := []string{}
	for x := range numScopes {
		if s.Has(x) {
			out = append(out, x.String())
		}
	}
	return out
}

func (s ScopeSet) String() string { return strings.Join(s.Strings(), ",") }

// MarshalJSON encodes the set as a list of names.
func (s ScopeSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.Strings()) }

// PathClassSet is a set of path classes.
type PathClassSet uint16

// PathClasses builds a set from its members.
func PathClasses(cs ...PathClass) PathClassSet {
	var s PathClassSet
	for _, c := range cs {
		s = s.With(c)
	}
	return s
}

// With returns s with c added.
func (s PathClassSet) With(c PathClass) PathClassSet { return s | 1<<c }

// Has reports whether c is in s.
func (s PathClassSet) Has(c PathClass) bool { return s&(1<<c) != 0 }

// Any reports whether s and o share a member.
func (s PathClassSet) Any(o PathClassSet) bool { return s&o != 0 }

// Within reports whether every member of s is in o.
func (s PathClassSet) Within(o PathClassSet) bool { return s&^o == 0 }

// Strings returns the members' names in canonical order.
func (s PathClassSet) Strings() []string {
	out := []string{}
	for c := range numPathClasses {
		if s.Has(c) {
			out = append(out, c.String())
		}
	}
	return out
}

// MarshalJSON encodes the class as its name.
func (c PathClass) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// MarshalJSON encodes the access as its name.
func (a Access) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON decodes a list of effect names; stored decisions are read
// back with it.
func (s *EffectSet) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*s = 0
	for _, n := range names {
		e, err := ParseEffect(n)
		if err != nil {
			return err
		}
		*s = s.With(e)
	}
	return nil
}

// UnmarshalJSON decodes a list of scope names.
func (s *ScopeSet) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*s = 0
	for _, n := range names {
		x, err := ParseScope(n)
		if err != nil {
			return err
		}
		*s = s.With(x)
	}
	return nil
}

// UnmarshalJSON decodes a path class name.
func (c *PathClass) UnmarshalJSON(b []byte) error {
	var n string
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v, err := ParsePathClass(n)
	*c = v
	return err
}

// UnmarshalJSON decodes an access name.
func (a *Access) UnmarshalJSON(b []byte) error {
	var n string
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v, err := ParseAccess(n)
	*a = v
	return err
}
