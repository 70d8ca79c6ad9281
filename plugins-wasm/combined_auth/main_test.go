package main

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

var now = time.Unix(1_700_000_000, 0)

const config = `{"authorizations":[
	{"app_id":"shop","secret":"s3cr3t","deviation":60},
	{"app_id":"office","secret":"0ff1ce","deviation":10,"ip_list":["192.168.1.0/24","10.0.0.7","2001:db8::/32"]},
	{"app_id":"root","secret":"*"}
]}`

func digest(secret string, ts int64) string {
	sum := sha256.Sum256([]byte(secret + ":" + strconv.FormatInt(ts, 10)))
	return hex.EncodeToString(sum[:])
}

func query(app string, ts int64, dig string) string {
	return "/api?app_id=" + app + "&ts=" + strconv.FormatInt(ts, 10) + "&digest=" + dig
}

func TestCombinedAuth(t *testing.T) {
	ts := now.Unix()
	tests := []struct {
		name     string
		path     string
		clientIP string // "" leaves sluice.client_ip unset
		want     string // refusal message, "" for passed on
	}{
		{name: "signed", path: query("shop", ts, digest("s3cr3t", ts))},
		{name: "upper-case digest", path: query("shop", ts, strings.ToUpper(digest("s3cr3t", ts)))},
		{name: "oldest accepted", path: query("shop", ts-60, digest("s3cr3t", ts-60))},
		{name: "newest accepted", path: query("shop", ts+60, digest("s3cr3t", ts+60))},
		{name: "no app id", path: "/api?ts=1&digest=x", want: "app id is empty"},
		{name: "unknown app", path: query("nobody", ts, digest("s3cr3t", ts)), want: "app id is invalid"},
		{name: "no timestamp", path: "/api?app_id=shop&digest=" + digest("s3cr3t", ts), want: "timestamp is empty"},
		{name: "bad timestamp", path: "/api?app_id=shop&ts=soon&digest=x", want: "timestamp is invalid"},
		{name: "too old", path: query("shop", ts-61, digest("s3cr3t", ts-61)), want: "timestamp deviation is invalid"},
		{name: "too new", path: query("shop", ts+61, digest("s3cr3t", ts+61)), want: "timestamp deviation is invalid"},
		{name: "no digest", path: "/api?app_id=shop&ts=" + strconv.FormatInt(ts, 10), want: "digest is empty"},
		{name: "digest of another secret", path: query("shop", ts, digest("0ff1ce", ts)), want: "digest is invalid"},
		{name: "digest of another time", path: query("shop", ts, digest("s3cr3t", ts-1)), want: "digest is invalid"},
		{name: "digest too short", path: query("shop", ts, digest("s3cr3t", ts)[:62]), want: "digest is invalid"},
		{name: "digest not hex", path: query("shop", ts, "zz"+digest("s3cr3t", ts)[2:]), want: "digest is invalid"},
		{name: "ip in range", path: query("office", ts, digest("0ff1ce", ts)), clientIP: "192.168.1.99"},
		{name: "ip exact", path: query("office", ts, digest("0ff1ce", ts)), clientIP: "10.0.0.7"},
		{name: "ipv6 in range", path: query("office", ts, digest("0ff1ce", ts)), clientIP: "2001:db8::1"},
		{name: "ipv4-mapped ipv6", path: query("office", ts, digest("0ff1ce", ts)), clientIP: "::ffff:10.0.0.7"},
		{name: "ip with a port", path: query("office", ts, digest("0ff1ce", ts)), clientIP: "10.0.0.7:5000"},
		{name: "ip outside", path: query("office", ts, digest("0ff1ce", ts)), clientIP: "10.0.0.8", want: "ip is invalid"},
		{name: "ip checked before the timestamp", path: "/api?app_id=office", clientIP: "172.16.0.1", want: "ip is invalid"},
		{name: "ip unknown", path: query("office", ts, digest("0ff1ce", ts)), want: "ip is invalid"},
		{name: "office deviation", path: query("office", ts-11, digest("0ff1ce", ts-11)), clientIP: "10.0.0.7", want: "timestamp deviation is invalid"},
		{name: "bypass", path: "/api?app_id=root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, config, sdktest.WithNow(now))
			s := h.NewStream()
			if tc.clientIP != "" {
				s.SetProperty("sluice.client_ip", []byte(tc.clientIP))
			}
			a := s.SendRequestHeaders(sdktest.Get(tc.path), true)
			lr := s.LocalResponse()
			if tc.want == "" {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want the request passed on", a, lr)
				}
				return
			}
			if lr == nil || lr.Status != 401 || string(lr.Body) != tc.want {
				t.Fatalf("response %+v; want 401 %q", lr, tc.want)
			}
			if lr.Header("cache-control") != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", lr.Header("cache-control"))
			}
		})
	}
}

// The peer address stands in for sluice.client_ip on hosts without it.
func TestCombinedAuthSourceAddress(t *testing.T) {
	h := sdktest.Start(t, config, sdktest.WithNow(now))
	s := h.NewStream()
	s.SetProperty("source.address", []byte("192.168.1.5:40000"))
	if a := s.SendRequestHeaders(sdktest.Get(query("office", now.Unix(), digest("0ff1ce", now.Unix()))), true); a != sdk.Continue {
		t.Fatalf("action %v, response %+v; want passed on", a, s.LocalResponse())
	}
}

func TestCombinedAuthBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "no authorizations", config: `{}`, want: `key "authorizations": required`},
		{name: "empty", config: `{"authorizations":[]}`, want: `key "authorizations": must not be empty`},
		{name: "not an array", config: `{"authorizations":{"app_id":"a"}}`, want: `key "authorizations": want an array of objects`},
		{name: "not an object", config: `{"authorizations":["a"]}`, want: `key "authorizations[0]": want an object`},
		{name: "no app_id", config: `{"authorizations":[{"secret":"s","deviation":1}]}`, want: `key "authorizations[0].app_id": required`},
		{name: "duplicate app_id", config: `{"authorizations":[{"app_id":"a","secret":"s","deviation":1},{"app_id":"a","secret":"t","deviation":1}]}`,
			want: `key "authorizations[1].app_id": "a" is already used`},
		{name: "no secret", config: `{"authorizations":[{"app_id":"a","deviation":1}]}`, want: `key "authorizations[0].secret": required`},
		{name: "no deviation", config: `{"authorizations":[{"app_id":"a","secret":"s"}]}`, want: `key "authorizations[0].deviation": required`},
		{name: "zero deviation", config: `{"authorizations":[{"app_id":"a","secret":"s","deviation":0}]}`, want: `key "authorizations[0].deviation"`},
		{name: "deviation type", config: `{"authorizations":[{"app_id":"a","secret":"s","deviation":"60s"}]}`, want: `key "authorizations[0].deviation": want an integer`},
		{name: "bad ip", config: `{"authorizations":[{"app_id":"a","secret":"s","deviation":1,"ip_list":["10.0.0.300"]}]}`,
			want: `key "authorizations[0].ip_list[0]": "10.0.0.300" is not an IP address or CIDR range`},
		{name: "bad cidr", config: `{"authorizations":[{"app_id":"a","secret":"s","deviation":1,"ip_list":["10.0.0.0/33"]}]}`,
			want: `key "authorizations[0].ip_list[0]"`},
		{name: "unknown key in an authorization", config: `{"authorizations":[{"app_id":"a","secret":"s","deviation":1,"ip_lst":[]}]}`,
			want: `unknown key "authorizations[0].ip_lst" (did you mean "ip_list"?)`},
		{name: "step", config: `{"step":"response","authorizations":[{"app_id":"a","secret":"*"}]}`, want: `key "step": combined_auth runs at the request step`},
		{name: "unknown", config: `{"authorisations":[]}`, want: `unknown key "authorisations"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
			if strings.Contains(err.Error(), `"s"`) || strings.Contains(err.Error(), `"t"`) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

func TestDigestMatchesAllocs(t *testing.T) {
	a := &app{prefix: []byte("s3cr3t:")}
	d := digest("s3cr3t", 1700000000)
	n := testing.AllocsPerRun(100, func() {
		if !a.digestMatches("1700000000", d) {
			t.Fatal("no match")
		}
	})
	if n != 0 {
		t.Errorf("digestMatches allocates %v times; want 0", n)
	}
}

// A signed request costs two crossings of the Wasm boundary (the path and
// the clock), three with an ip_list (the client address).
func TestCombinedAuthHostCalls(t *testing.T) {
	ts := now.Unix()
	tests := []struct {
		name, path string
		want       map[string]int
	}{
		{name: "no ip_list", path: query("shop", ts, digest("s3cr3t", ts)),
			want: map[string]int{"proxy_get_header_map_value": 1, "proxy_get_current_time_nanoseconds": 1}},
		{name: "ip_list", path: query("office", ts, digest("0ff1ce", ts)),
			want: map[string]int{"proxy_get_header_map_value": 1, "proxy_get_current_time_nanoseconds": 1, "proxy_get_property": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, config, sdktest.WithNow(now))
			s := h.NewStream()
			s.SetProperty("sluice.client_ip", []byte("10.0.0.7"))
			h.ResetHostCalls()
			if a := s.SendRequestHeaders(sdktest.Get(tc.path), true); a != sdk.Continue {
				t.Fatalf("refused: %+v", s.LocalResponse())
			}
			if got := h.HostCalls(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("host calls %v; want %v", got, tc.want)
			}
		})
	}
}
