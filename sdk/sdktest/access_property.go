package sdktest

// Property returns an attribute of the stream by dotted path, as set with
// SetProperty or by the plugin (proxy_set_property, e.g.
// "sluice.upstream"), and whether it is set.
func (s *Stream) Property(path string) ([]byte, bool) {
	v, ok := s.props[dotted(path)]
	return v, ok
}
