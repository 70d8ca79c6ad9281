package jsonlite

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any // as encoding/json would decode it, numbers as strings
	}{
		{name: "empty object", in: `{}`, want: map[string]any{}},
		{name: "surrounding space", in: " \t\r\n{ } \n", want: map[string]any{}},
		{name: "scalars", in: `{"s":"x","t":true,"f":false,"n":null,"i":-12,"x":1.5e+3}`,
			want: map[string]any{"s": "x", "t": true, "f": false, "n": nil, "i": "-12", "x": "1.5e+3"}},
		{name: "nested", in: `{"a":[1,[2,{"b":[]}]]}`,
			want: map[string]any{"a": []any{"1", []any{"2", map[string]any{"b": []any{}}}}}},
		{name: "escapes", in: `"a\"\\\/\b\f\n\r\tb"`, want: "a\"\\/\b\f\n\r\tb"},
		{name: "unicode escape", in: `"\u00e9\u4e2D"`, want: "é中"},
		{name: "surrogate pair", in: `"\ud83d\ude00"`, want: "😀"},
		{name: "lone high surrogate", in: `"\ud83dx"`, want: "\uFFFDx"},
		{name: "high surrogate then non-low escape", in: `"\ud83d\u0041"`, want: "\uFFFDA"},
		{name: "raw utf8", in: `"héllo"`, want: "héllo"},
		{name: "zero", in: `0`, want: "0"},
		{name: "negative fraction", in: `-0.25`, want: "-0.25"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := toAny(v); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %#v; want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, msg string
		offset        int
	}{
		{name: "empty", in: ``, msg: "unexpected end of input", offset: 0},
		{name: "trailing data", in: `{} x`, msg: "unexpected data after the value", offset: 3},
		{name: "duplicate key", in: `{"a":1, "a":2}`, msg: `duplicate key "a"`, offset: 8},
		{name: "missing colon", in: `{"a" 1}`, msg: `want ':' after key "a"`, offset: 5},
		{name: "unquoted key", in: `{a:1}`, msg: "want a string key", offset: 1},
		{name: "trailing comma object", in: `{"a":1,}`, msg: "want a string key", offset: 7},
		{name: "trailing comma array", in: `[1,]`, msg: "unexpected character ']'", offset: 3},
		{name: "leading zero", in: `01`, msg: "unexpected data after the value", offset: 1},
		{name: "bare minus", in: `-`, msg: "invalid number", offset: 1},
		{name: "dot without digits", in: `1.`, msg: "want digits after '.'", offset: 2},
		{name: "exponent without digits", in: `1e+`, msg: "want digits in the exponent", offset: 3},
		{name: "control char", in: "\"a\nb\"", msg: "control character in string", offset: 2},
		{name: "bad escape", in: `"\x"`, msg: `invalid escape 'x'`, offset: 2},
		{name: "short unicode escape", in: `"\u12"`, msg: `short \u escape`, offset: 3},
		{name: "bad hex", in: `"\u12g4"`, msg: `invalid hex digit`, offset: 3},
		{name: "unterminated", in: `"abc`, msg: "unterminated string", offset: 4},
		{name: "invalid utf8", in: "\"\xff\"", msg: "invalid UTF-8", offset: 1},
		{name: "bad literal", in: `tru`, msg: "want true", offset: 0},
		{name: "too deep", in: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
			msg: "nesting deeper than 64", offset: MaxDepth},
		{name: "unclosed object", in: `{"a":1`, msg: "unexpected end of input in object", offset: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v; want a *SyntaxError", tc.in, err)
			}
			if !strings.Contains(se.Msg, tc.msg) || se.Offset != tc.offset {
				t.Errorf("Parse(%q) = %q at %d; want %q at %d", tc.in, se.Msg, se.Offset, tc.msg, tc.offset)
			}
		})
	}
}

func TestMaxDepthAccepted(t *testing.T) {
	in := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(in)); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
}

// FuzzParse checks the parser against encoding/json: whatever jsonlite
// accepts, encoding/json accepts with the same meaning; and valid UTF-8 JSON
// that encoding/json accepts is rejected only for duplicate keys or depth.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}]}`, `"\ud83d\ude00"`, `-1.5e-3`, `[true,false]`, `{"a":1,"a":2}`, `"\u00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		valid := json.Valid(data)
		if err == nil {
			if !valid {
				t.Fatalf("jsonlite accepted %q; encoding/json says it is invalid", data)
			}
			var ref any
			if json.Unmarshal(data, &ref) != nil {
				return // e.g. 1e999 does not fit a float64; jsonlite keeps the text
			}
			if got := toFloats(v); !reflect.DeepEqual(got, ref) {
				t.Fatalf("Parse(%q) = %#v; encoding/json = %#v", data, got, ref)
			}
			return
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(data) {
			t.Fatalf("Parse(%q): bad error %v", data, err)
		}
		if valid && utf8.Valid(data) && !strings.Contains(se.Msg, "duplicate key") && !strings.Contains(se.Msg, "nesting") {
			t.Fatalf("jsonlite rejected %q (%v); encoding/json accepted it", data, err)
		}
	})
}

// toAny converts a Value to encoding/json's generic shape, numbers as
// their literal text.
func toAny(v Value) any {
	switch v.Kind {
	case Null:
		return nil
	case Bool:
		return v.Bool
	case Number, String:
		return v.Str
	case Array:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			out[i] = toAny(it)
		}
		return out
	case Object:
		out := make(map[string]any, len(v.Members))
		for _, m := range v.Members {
			out[m.Key] = toAny(m.Value)
		}
		return out
	}
	panic("unknown kind")
}

// toFloats converts a Value to encoding/json's generic shape.
func toFloats(v Value) any {
	switch v.Kind {
	case Number:
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f
	case Array:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			out[i] = toFloats(it)
		}
		return out
	case Object:
		out := make(map[string]any, len(v.Members))
		for _, m := range v.Members {
			out[m.Key] = toFloats(m.Value)
		}
		return out
	}
	return toAny(v)
}
