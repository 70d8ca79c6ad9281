package sdk_test

import (
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestRequestCookie(t *testing.T) {
	var got string
	var found bool
	f := &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
		got, found = r.Cookie("sid")
		return sdk.Continue
	}}
	tests := []struct {
		name    string
		headers [][2]string
		want    string
		found   bool
	}{
		{name: "in the only header", headers: sdktest.Get("/", "cookie", "a=1; sid=s1"), want: "s1", found: true},
		{name: "in a later header", headers: sdktest.Get("/", "cookie", "a=1", "cookie", "sid=s2"), want: "s2", found: true},
		{name: "first header wins", headers: sdktest.Get("/", "cookie", "sid=s3", "cookie", "sid=s4"), want: "s3", found: true},
		{name: "quoted", headers: sdktest.Get("/", "cookie", `sid="q"`), want: "q", found: true},
		{name: "not there", headers: sdktest.Get("/", "cookie", "a=1", "cookie", "b=2"), found: false},
		{name: "no cookie header", headers: sdktest.Get("/"), found: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, f)
			got, found = "", false
			h.NewStream().SendRequestHeaders(tc.headers, true)
			if got != tc.want || found != tc.found {
				t.Errorf("Cookie(sid) = %q, %v; want %q, %v", got, found, tc.want, tc.found)
			}
		})
	}
}
