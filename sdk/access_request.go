package sdk

// Cookie returns the value of the request cookie name and whether it is
// present, looking through every Cookie header: HTTP/2 clients may split
// cookies over several. It costs one host call, or two when the first
// header does not have the cookie and there are others.
func (r Request) Cookie(name string) (string, bool) {
	h := r.Header()
	v, ok := h.Lookup("cookie")
	if !ok {
		return "", false
	}
	if c, ok := CookieValue(v, name); ok {
		return c, true
	}
	values := h.Values("cookie")
	for i := 1; i < len(values); i++ {
		if c, ok := CookieValue(values[i], name); ok {
			return c, true
		}
	}
	return "", false
}
