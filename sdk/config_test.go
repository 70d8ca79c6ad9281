package sdk

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		read    func(c *Config) any
		want    any
		wantErr string
	}{
		{name: "empty input", in: "", read: func(c *Config) any { return c.String("path", "/x") }, want: "/x"},
		{name: "string", in: `{"path":"/ping"}`, read: func(c *Config) any { return c.String("path", "") }, want: "/ping"},
		{name: "null is absent", in: `{"path":null}`, read: func(c *Config) any { return c.String("path", "d") }, want: "d"},
		{name: "int", in: `{"status":404}`, read: func(c *Config) any { return c.Int("status", 200) }, want: 404},
		{name: "integral float", in: `{"status":2e2}`, read: func(c *Config) any { return c.Int("status", 0) }, want: 200},
		{name: "fractional int", in: `{"status":1.5}`, read: func(c *Config) any { return c.Int("status", 7) }, want: 7,
			wantErr: `key "status": want an integer, got number "1.5"`},
		{name: "int from string", in: `{"status":"200"}`, read: func(c *Config) any { return c.Int("status", 1) }, want: 1,
			wantErr: `key "status": want an integer, got string "200"`},
		{name: "restriction defaults", in: `{}`, read: func(c *Config) any { r := c.Restriction(); return fmt.Sprint(r.Deny, " ", string(r.Message)) },
			want: "false Request is forbidden"},
		{name: "restriction deny", in: `{"type":"Deny","message":"go away"}`, read: func(c *Config) any { r := c.Restriction(); return fmt.Sprint(r.Deny, " ", string(r.Message)) },
			want: "true go away"},
		{name: "restriction bad type", in: `{"type":"block"}`, read: func(c *Config) any { return c.Restriction().Deny }, want: false,
			wantErr: `key "type": want "allow" or "deny", got "block"`},
		{name: "bool", in: `{"on":true}`, read: func(c *Config) any { return c.Bool("on", false) }, want: true},
		{name: "bool wrong type", in: `{"on":1}`, read: func(c *Config) any { return c.Bool("on", false) }, want: false,
			wantErr: `key "on": want true or false, got number "1"`},
		{name: "duration", in: `{"delay":"1m30s"}`, read: func(c *Config) any { return c.Duration("delay", 0) }, want: 90 * time.Second},
		{name: "bad duration", in: `{"delay":"soon"}`, read: func(c *Config) any { return c.Duration("delay", time.Second) }, want: time.Second,
			wantErr: `key "delay": invalid duration "soon"`},
		{name: "strings", in: `{"h":["a: 1","b: 2"]}`, read: func(c *Config) any { return strings.Join(c.Strings("h"), "|") }, want: "a: 1|b: 2"},
		{name: "strings element wrong", in: `{"h":["a",2]}`, read: func(c *Config) any { return len(c.Strings("h")) }, want: 0,
			wantErr: `key "h[1]": want a string, got number "2"`},
		{name: "header lines", in: `{"h":["X-A: 1","x-b:two words"]}`, read: func(c *Config) any {
			return strings.Join([]string{c.HeaderLines("h")[0][0], c.HeaderLines("h")[1][1]}, "|")
		}, want: "x-a|two words"},
		{name: "header line without colon", in: `{"h":["X-A 1"]}`, read: func(c *Config) any { return len(c.HeaderLines("h")) }, want: 0,
			wantErr: `key "h[0]": want "Name: value", got "X-A 1"`},
		{name: "header line bad name", in: `{"h":["X A: 1"]}`, read: func(c *Config) any { return len(c.HeaderLines("h")) }, want: 0,
			wantErr: `key "h[0]"`},
		{name: "string map", in: `{"m":{"a":"1"}}`, read: func(c *Config) any { return c.StringMap("m")["a"] }, want: "1"},
		{name: "unknown key with suggestion", in: `{"sise":8}`, read: func(c *Config) any { return c.Int("size", 8) }, want: 8,
			wantErr: `unknown key "sise" (did you mean "size"?)`},
		{name: "unknown key without suggestion", in: `{"zzzzzz":1}`, read: func(c *Config) any { return c.Int("size", 8) }, want: 8,
			wantErr: `unknown key "zzzzzz"`},
		{name: "invalid", in: `{"status":42}`, read: func(c *Config) any {
			if n := c.Int("status", 200); n < 100 {
				c.Invalid("status", "must be between 100 and 999")
			}
			return nil
		}, want: nil, wantErr: `key "status": must be between 100 and 999`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseConfig(%q): %v", tc.in, err)
			}
			if got := tc.read(c); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
			err = c.Err()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Err() = %v; want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Err() = %v; want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "array", in: `[1]`, want: "want a JSON object, got array"},
		{name: "syntax", in: `{"a":}`, want: "invalid JSON at offset 5"},
		{name: "duplicate", in: `{"a":1,"a":2}`, want: `duplicate key "a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseConfig(%q) = %v; want %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "1s", want: time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "1.5h", want: 90 * time.Minute},
		{in: "1h 30m", want: 90 * time.Minute},
		{in: "2min", want: 2 * time.Minute},
		{in: "1d", want: 24 * time.Hour},
		{in: "10us", want: 10 * time.Microsecond},
		{in: "", wantErr: "empty"},
		{in: "5", wantErr: "missing or unknown unit"},
		{in: "s", wantErr: "want a number"},
		{in: "1.2.3s", wantErr: "bad number"},
		{in: "1y", wantErr: "unknown unit"},
		{in: "999999999999h", wantErr: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzParseDuration checks that ParseDuration never panics and agrees with
// time.ParseDuration on the inputs both accept.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1s", "1h 30m", "2d", "0", "1.5ms", "-1s", "1e3s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDuration(s)
		if err != nil {
			return
		}
		if got < 0 {
			t.Fatalf("ParseDuration(%q) = %v; negative", s, got)
		}
		if want, err := time.ParseDuration(s); err == nil && !strings.Contains(s, " ") {
			if diff := got - want; diff > time.Microsecond || diff < -time.Microsecond {
				t.Fatalf("ParseDuration(%q) = %v; time.ParseDuration = %v", s, got, want)
			}
		}
	})
}

// The host passes Pingap's "step" to every plugin that sets it; it is
// never an unknown key.
func TestConfigStep(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"set", `{"step":"proxy_upstream"}`, "proxy_upstream"},
		{"absent", `{}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Step(); got != tc.want {
				t.Errorf("Step() = %q; want %q", got, tc.want)
			}
			if err := c.Err(); err != nil {
				t.Errorf("Err() = %v; want nil", err)
			}
		})
	}
}
