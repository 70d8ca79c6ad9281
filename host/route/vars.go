package route

import "iter"

// Var is one named value a request picked up while being routed.
type Var struct {
	Name  string
	Value string
}

// Vars are the variables of one request: the named groups of the matched
// location's path and host regexes, then those of its rewrite regex. The zero
// value holds none.
//
// Vars is a small value type. Adding a variable never changes the Vars it
// was derived from, so a Vars may be shared between goroutines and kept
// after the request that made it. Lookups scan the list: a request carries a
// handful of variables at most, and a scan of short names is cheaper than
// any map.
type Vars struct {
	list []Var
}

// Get returns the value of the variable name and whether it is set.
func (v Vars) Get(name string) (string, bool) {
	for i := range v.list {
		if v.list[i].Name == name {
			return v.list[i].Value, true
		}
	}
	return "", false
}

// Len returns the number of variables.
func (v Vars) Len() int { return len(v.list) }

// All yields every variable as name and value, in the order they were set.
func (v Vars) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, e := range v.list {
			if !yield(e.Name, e.Value) {
				return
			}
		}
	}
}

// With returns Vars holding everything v holds, with name set to value: a
// variable of that name is replaced, otherwise the new one is added last.
// v itself is not changed.
func (v Vars) With(name, value string) Vars {
	out := make([]Var, len(v.list), len(v.list)+1)
	copy(out, v.list)
	return Vars{list: set(out, name, value)}
}

// set stores name=value in list, in place, and returns the list. It is the
// building block for Vars that are still being made and so not shared yet.
func set(list []Var, name, value string) []Var {
	for i := range list {
		if list[i].Name == name {
			list[i].Value = value
			return list
		}
	}
	return append(list, Var{Name: name, Value: value})
}
