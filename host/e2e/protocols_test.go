package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const protocolsConf = `
[servers.tls]
addr = "{{.tls}}"
locations = ["all"]
global_certificates = true
enabled_h2 = true

[servers.h2c]
addr = "{{.h2c}}"
locations = ["all"]
enabled_h2 = true

[servers.h1]
addr = "{{.h1}}"
locations = ["all"]

[locations.all]
upstream = "b"

[upstreams.b]
addrs = ["{{.b}}"]

[certificates.a]
tls_cert = "{{.dir}}/a.test.pem"
tls_key = "{{.dir}}/a.test.key"

[certificates.wild]
tls_cert = "{{.dir}}/wild.test.pem"
tls_key = "{{.dir}}/wild.test.key"

[certificates.fallback]
tls_cert = "{{.dir}}/default.test.pem"
tls_key = "{{.dir}}/default.test.key"
is_default = true
`

// Issue 2: HTTP/1.0, 1.1, h2 over TLS with ALPN, h2c with prior knowledge,
// and certificates chosen by SNI.
func TestProtocolsAndSNI(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "client proto via proxy ok, path=%s", r.URL.Path)
	})
	addrs := map[string]any{"tls": freePort(t), "h2c": freePort(t), "h1": freePort(t), "b": back,
		"dir": filepath.Join(repoRoot, "testdata", "tls")}
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, protocolsConf, addrs)
	p := start(t, conf, addrs["tls"].(string))
	waitListening(t, p, addrs["h2c"].(string))
	waitListening(t, p, addrs["h1"].(string))

	caPEM, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	t.Run("SNI", func(t *testing.T) {
		tests := []struct{ sni, wantName string }{
			{"a.test", "a.test"},
			{"x.wild.test", "*.wild.test"},
			{"unknown.test", "default.test"},
			{"", "default.test"},
		}
		for _, tc := range tests {
			c, err := tls.Dial("tcp", addrs["tls"].(string), &tls.Config{ServerName: tc.sni, RootCAs: pool, InsecureSkipVerify: tc.sni == "" || tc.sni == "unknown.test"})
			if err != nil {
				t.Errorf("SNI %q: %v", tc.sni, err)
				continue
			}
			got := c.ConnectionState().PeerCertificates[0].DNSNames
			c.Close()
			if len(got) == 0 || got[0] != tc.wantName {
				t.Errorf("SNI %q: certificate for %v; want %s", tc.sni, got, tc.wantName)
			}
		}
	})

	t.Run("h2 over TLS", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		tr.DialContext = dialTo(addrs["tls"].(string))
		resp := mustGet(t, &http.Client{Transport: tr}, "https://a.test/h2")
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("proto = %s; want HTTP/2.0", resp.Proto)
		}
	})
	t.Run("HTTP/1.1 over TLS", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}
		tr.DialContext = dialTo(addrs["tls"].(string))
		resp := mustGet(t, &http.Client{Transport: tr}, "https://a.test/h1")
		if resp.Proto != "HTTP/1.1" {
			t.Errorf("proto = %s; want HTTP/1.1", resp.Proto)
		}
	})
	t.Run("h2c prior knowledge", func(t *testing.T) {
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		resp := mustGet(t, &http.Client{Transport: &http.Transport{Protocols: &protos}}, "http://"+addrs["h2c"].(string)+"/h2c")
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("proto = %s; want HTTP/2.0", resp.Proto)
		}
	})
	t.Run("h2c refused without enabled_h2", func(t *testing.T) {
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		_, err := (&http.Client{Transport: &http.Transport{Protocols: &protos}, Timeout: 3 * time.Second}).Get("http://" + addrs["h1"].(string) + "/")
		if err == nil {
			t.Error("h2c request to a server without enabled_h2 succeeded")
		}
	})
	t.Run("HTTP/1.0", func(t *testing.T) {
		c, err := net.Dial("tcp", addrs["h1"].(string))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "path=/old") {
			t.Errorf("HTTP/1.0: %d %q", resp.StatusCode, b)
		}
	})
}

// dialTo makes a client reach addr whatever host name the URL has, so
// that the URL can carry the SNI name.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func mustGet(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "via proxy ok") {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, b)
	}
	return resp
}
