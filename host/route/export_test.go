package route

import "net/http"

// MatchLinear is Match without the host index: it tries every location in
// weight order. Tests check that the index never changes the answer.
func (t *Table) MatchLinear(r *http.Request) (*Location, Vars) {
	host := requestHost(r)
	path := ""
	if r.URL != nil {
		path = r.URL.Path
	}
	for _, l := range t.locs {
		if l.matchHost(host) >= 0 && l.matches(host, path, r) {
			return l, l.vars(host, path)
		}
	}
	return nil, Vars{}
}
