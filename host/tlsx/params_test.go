package tlsx

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/sluice-proxy/sluice/host/config"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    uint16
		wantErr string
	}{
		{in: "tlsv1.1", want: tls.VersionTLS11},
		{in: "TLSv1.2", want: tls.VersionTLS12},
		{in: "tlsv1.3", want: tls.VersionTLS13},
		{in: "tls1.2", want: tls.VersionTLS12},
		{in: " TLS1.3 ", want: tls.VersionTLS13},
		{in: "tlsv1", want: tls.VersionTLS10},
		{in: "tlsv1.0", want: tls.VersionTLS10},
		{in: "1.2", wantErr: `unknown TLS version "1.2"`},
		{in: "sslv3", wantErr: `unknown TLS version "sslv3" (want tlsv1.1, tlsv1.2 or tlsv1.3)`},
		{in: "tlsv1.4", wantErr: `unknown TLS version "tlsv1.4"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if tt.wantErr != "" {
				wantErr(t, err, tt.wantErr)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseVersion(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseCipherList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []uint16
		wantErr []string
	}{
		{name: "OpenSSL names, colon separated", in: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305",
			want: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}},
		{name: "Go names, comma separated, order kept", in: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
			want: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
		{name: "any case", in: "ecdhe-rsa-aes128-gcm-sha256",
			want: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
		{name: "unknown name", in: "ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL",
			wantErr: []string{`unknown cipher suite "HIGH"`, `unknown cipher suite "!aNULL"`}},
		{name: "TLS 1.3 suite", in: "TLS_AES_128_GCM_SHA256",
			wantErr: []string{`"TLS_AES_128_GCM_SHA256" is a TLS 1.3 suite`}},
		{name: "insecure suite", in: "DES-CBC3-SHA:RC4-SHA",
			wantErr: []string{`cipher suite "DES-CBC3-SHA" is insecure`, `"RC4-SHA" is insecure`}},
		{name: "empty list", in: " : ", wantErr: []string{"no cipher suites in the list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCipherList(tt.in)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ParseCipherList(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestSuiteTableCoversGo keeps the OpenSSL table in step with crypto/tls:
// a suite Go adds must get an OpenSSL name here.
func TestSuiteTableCoversGo(t *testing.T) {
	all := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	for _, cs := range all {
		st, ok := suiteByName[cs.Name]
		if !ok {
			t.Errorf("suite %s has no entry in suites", cs.Name)
			continue
		}
		if st.id != cs.ID || st.insecure != cs.Insecure {
			t.Errorf("suites entry for %s = %+v; want id %#x insecure %v", cs.Name, st, cs.ID, cs.Insecure)
		}
	}
	if len(suites) != len(all) {
		t.Errorf("suites has %d entries; crypto/tls has %d suites", len(suites), len(all))
	}
}

func TestNames(t *testing.T) {
	if got := VersionName(tls.VersionTLS13); got != "TLSv1.3" {
		t.Errorf("VersionName(1.3) = %q", got)
	}
	if got := CipherName(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); got != "ECDHE-RSA-AES128-GCM-SHA256" {
		t.Errorf("CipherName = %q", got)
	}
	if got := CipherName(tls.TLS_AES_256_GCM_SHA384); got != "TLS_AES_256_GCM_SHA384" {
		t.Errorf("CipherName(TLS 1.3) = %q", got)
	}
}

func TestServerConfig(t *testing.T) {
	tests := []struct {
		name      string
		srv       config.Server
		wantMin   uint16
		wantMax   uint16
		wantProto []string
		wantErr   []string
	}{
		{name: "defaults", wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProto: []string{"http/1.1"}},
		{name: "h2 and versions", srv: config.Server{EnabledH2: true, TLSMinVersion: "TLSv1.1", TLSMaxVersion: "tls1.2"},
			wantMin: tls.VersionTLS11, wantMax: tls.VersionTLS12, wantProto: []string{"h2", "http/1.1"}},
		{name: "min above max", srv: config.Server{TLSMinVersion: "tlsv1.3", TLSMaxVersion: "tlsv1.2"},
			wantErr: []string{"servers.web.tls_min_version: TLSv1.3 is above tls_max_version TLSv1.2"}},
		{name: "every key wrong", srv: config.Server{TLSMinVersion: "tls9", TLSMaxVersion: "x", TLSCipherList: "NOPE"},
			wantErr: []string{`servers.web.tls_min_version: unknown TLS version "tls9"`,
				`servers.web.tls_max_version: unknown TLS version "x"`,
				`servers.web.tls_cipher_list: unknown cipher suite "NOPE"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ServerConfig("web", &tt.srv, nil)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MinVersion != tt.wantMin || c.MaxVersion != tt.wantMax || !slices.Equal(c.NextProtos, tt.wantProto) || c.SessionTicketsDisabled {
				t.Errorf("config = min %#x max %#x protos %q tickets off %v; want %#x %#x %q on",
					c.MinVersion, c.MaxVersion, c.NextProtos, c.SessionTicketsDisabled, tt.wantMin, tt.wantMax, tt.wantProto)
			}
		})
	}
}
