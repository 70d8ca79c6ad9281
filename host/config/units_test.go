package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
		err      string
	}{
		{name: "seconds", in: "10s", want: 10 * time.Second},
		{name: "go compound", in: "1m30s", want: 90 * time.Second},
		{name: "go string form", in: "1h0m0.5s", want: time.Hour + 500*time.Millisecond},
		{name: "days", in: "2d", want: 48 * time.Hour},
		{name: "weeks", in: "1w", want: 7 * 24 * time.Hour},
		{name: "humantime month", in: "1M", want: 2630016 * time.Second},
		{name: "humantime year", in: "1y", want: 31557600 * time.Second},
		{name: "minute is lower case", in: "3m", want: 3 * time.Minute},
		{name: "milliseconds", in: "500ms", want: 500 * time.Millisecond},
		{name: "micro sign", in: "3µs", want: 3 * time.Microsecond},
		{name: "greek mu", in: "3μs", want: 3 * time.Microsecond},
		{name: "us", in: "7us", want: 7 * time.Microsecond},
		{name: "nanoseconds", in: "9ns", want: 9},
		{name: "long names with spaces", in: "1hour 30min", want: 90 * time.Minute},
		{name: "space between number and unit", in: "10 s", want: 10 * time.Second},
		{name: "plural units", in: "2 hours 1 minutes 5 seconds", want: 2*time.Hour + time.Minute + 5*time.Second},
		{name: "fraction", in: "1.5h", want: 90 * time.Minute},
		{name: "fraction rounds to nanoseconds", in: "0.3s", want: 300 * time.Millisecond},
		{name: "bare number is seconds", in: "10", want: 10 * time.Second},
		{name: "bare fraction is seconds", in: "0.25", want: 250 * time.Millisecond},
		{name: "negative", in: "-5s", want: -5 * time.Second},
		{name: "negative bare", in: "-1", want: -time.Second},
		{name: "explicit plus", in: "+5s", want: 5 * time.Second},
		{name: "surrounding spaces", in: "  5s ", want: 5 * time.Second},
		{name: "zero", in: "0s", want: 0},
		{name: "empty", in: "", err: "empty duration"},
		{name: "sign alone", in: "-", err: "a sign without a number"},
		{name: "sign and space", in: "+ ", err: "a sign without a number"},
		{name: "only spaces", in: "   ", err: "empty duration"},
		{name: "unknown unit", in: "5x", err: `unknown unit "x"`},
		{name: "units are case sensitive", in: "5S", err: `unknown unit "S"`},
		{name: "unit without number", in: "s", err: "invalid duration"},
		{name: "number without unit after term", in: "1h30", err: "invalid duration"},
		{name: "two dots", in: "1.2.3s", err: "invalid duration"},
		{name: "NaN", in: "NaN", err: "invalid duration"},
		{name: "Inf", in: "Inf", err: "invalid duration"},
		{name: "exponent", in: "1e3s", err: "unknown unit"},
		{name: "sign inside", in: "5s-3m", err: "unknown unit"},
		{name: "overflow bare", in: "100000000000000000", err: "out of range"},
		{name: "overflow with unit", in: "300y", err: "out of range"},
		{name: "overflow by sum", in: "200y 200y", err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		err      string
	}{
		{name: "bare bytes", in: "512", want: 512},
		{name: "b", in: "512b", want: 512},
		{name: "kb is 1000", in: "64kb", want: 64000},
		{name: "k is 1000", in: "2k", want: 2000},
		{name: "kib is 1024", in: "64KiB", want: 64 << 10},
		{name: "ki is 1024", in: "1ki", want: 1024},
		{name: "mb", in: "1mb", want: 1e6},
		{name: "MB upper case", in: "10MB", want: 10e6},
		{name: "mib", in: "4MiB", want: 4 << 20},
		{name: "gb", in: "2gb", want: 2e9},
		{name: "gib", in: "1gib", want: 1 << 30},
		{name: "tb", in: "1tb", want: 1e12},
		{name: "pib", in: "1pib", want: 1 << 50},
		{name: "fraction", in: "1.5mb", want: 1500000},
		{name: "space before unit", in: "64 KiB", want: 64 << 10},
		{name: "zero", in: "0", want: 0},
		{name: "empty", in: "", err: "empty size"},
		{name: "negative", in: "-1", err: "invalid size"},
		{name: "plus sign", in: "+1", err: "invalid size"},
		{name: "unit only", in: "mb", err: "invalid size"},
		{name: "unknown unit", in: "5xb", err: `unknown unit "xb"`},
		{name: "exponent", in: "1e3", err: "unknown unit"},
		{name: "two dots", in: "1.2.3kb", err: "invalid size"},
		{name: "overflow", in: "9000000pib", err: "out of range"},
		{name: "overflow bare", in: "99999999999999999999", err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseByteSize(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseByteSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestUnitsFromTOML decodes the units with BurntSushi/toml directly, as
// another package decoding its own TOML would: strings and numbers both
// work, other types fail with a message naming the key.
func TestUnitsFromTOML(t *testing.T) {
	type doc struct {
		D Duration `toml:"d"`
		S ByteSize `toml:"s"`
	}
	tests := []struct {
		name, in string
		want     doc
		err      string
	}{
		{name: "strings", in: "d = \"1m\"\ns = \"1kib\"", want: doc{D: Duration(time.Minute), S: 1024}},
		{name: "integer seconds and bytes", in: "d = 10\ns = 2048", want: doc{D: Duration(10 * time.Second), S: 2048}},
		{name: "float seconds", in: "d = 0.5", want: doc{D: Duration(500 * time.Millisecond)}},
		{name: "negative integer duration", in: "d = -3", want: doc{D: Duration(-3 * time.Second)}},
		{name: "boolean duration", in: "d = true", err: "want a duration"},
		{name: "float size", in: "s = 1.5", err: "want a size"},
		{name: "negative size", in: "s = -1", err: "negative"},
		{name: "array size", in: "s = [1]", err: "got array"},
		{name: "bad duration string", in: `d = "soon"`, err: "invalid duration"},
		{name: "overflowing seconds", in: "d = 9223372036854775807", err: "out of range"},
		{name: "float seconds overflow", in: "d = 1e300", err: "out of range"},
		{name: "nan seconds", in: "d = nan", err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got doc
			_, err := toml.Decode(tt.in, &got)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("decoding %q: err = %v; want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("decoding %q = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestUnitsJSONRoundTrip(t *testing.T) {
	type doc struct {
		D Duration `json:"d"`
		S ByteSize `json:"s"`
	}
	in := doc{D: Duration(90*time.Minute + 3*time.Millisecond), S: 65536}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":"1h30m0.003s","s":65536}`; string(b) != want {
		t.Fatalf("json = %s; want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip = %+v, %v; want %+v", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"s":"1mib"}`), &out); err != nil || out.S != 1<<20 {
		t.Fatalf("size from a JSON string = %v, %v; want %d", out.S, err, 1<<20)
	}
}

// FuzzParseDuration checks that the parser never panics and that what it
// accepts survives a trip through MarshalText, within float64 precision.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10s", "1m30s", "2d", "1.5h", "-5s", "1hour 30min", "0.3", "3µs", "1M", "9ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d > 1<<53 || d < -(1<<53) {
			return
		}
		text, _ := Duration(d).MarshalText()
		back, err := ParseDuration(string(text))
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v, marshalled %q, parsed back as %v, %v", s, d, text, back, err)
		}
	})
}

// FuzzParseByteSize checks that the parser never panics, never returns a
// negative size, and round-trips through MarshalText.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"512", "64kb", "1.5mib", "10 MB", "0", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseByteSize(%q) = %d, negative", s, n)
		}
		text, _ := ByteSize(n).MarshalText()
		back, err := ParseByteSize(string(text))
		if err != nil || back != n {
			t.Fatalf("ParseByteSize(%q) = %d, marshalled %q, parsed back as %d, %v", s, n, text, back, err)
		}
	})
}
