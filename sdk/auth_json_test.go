package sdk

import "testing"

func TestParseJSON(t *testing.T) {
	v, err := ParseJSON([]byte(`{"alg":"RS256","exp":1700000000,"aud":["a"],"ok":true,"n":null}`))
	if err != nil || v.Kind != JSONObject {
		t.Fatalf("ParseJSON = %+v, %v; want an object", v, err)
	}
	tests := []struct {
		key  string
		kind JSONKind
		str  string
	}{
		{"alg", JSONString, "RS256"},
		{"exp", JSONNumber, "1700000000"},
		{"aud", JSONArray, ""},
		{"ok", JSONBool, ""},
		{"n", JSONNull, ""},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			m, ok := v.Get(tc.key)
			if !ok || m.Kind != tc.kind || m.Str != tc.str {
				t.Errorf("Get(%q) = %+v, %v; want kind %v, %q", tc.key, m, ok, tc.kind, tc.str)
			}
		})
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `{} x`, `{"a":}`} {
		if _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%s) = nil error; want one", bad)
		}
	}
}
