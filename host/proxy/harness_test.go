package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"text/template"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
	"github.com/sluice-proxy/sluice/host/upstream"
)

// testProxy is one server's Entry built from a TOML config, served by an
// httptest.Server, with real upstreams and transports.
type testProxy struct {
	*httptest.Server
	entry *Entry
	reg   *upstream.Registry
	recs  *recorder
}

// recorder keeps copies of the finished records.
type recorder struct {
	mu   sync.Mutex
	recs []reqinfo.Record
}

func (r *recorder) Done(rec *reqinfo.Record) {
	r.mu.Lock()
	c := *rec
	c.Req, c.RespHeader = nil, nil
	r.recs = append(r.recs, c)
	r.mu.Unlock()
}

func (r *recorder) last() reqinfo.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recs) == 0 {
		return reqinfo.Record{}
	}
	return r.recs[len(r.recs)-1]
}

// newTestProxy builds the server "main" of conf, a text/template whose data
// is vars (backend addresses and such).
func newTestProxy(t *testing.T, conf string, vars map[string]string) *testProxy {
	t.Helper()
	var b strings.Builder
	if err := template.Must(template.New("conf").Option("missingkey=error").Parse(conf)).Execute(&b, vars); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Parse([]byte(b.String()), "test.toml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.Default()
	}
	reg := upstream.NewRegistry(upstream.Options{Logger: log})
	ups := map[string]*upstream.Upstream{}
	for name, uc := range cfg.Upstreams {
		u, err := reg.Build(name, uc, &cfg.Basic)
		if err != nil {
			t.Fatalf("upstreams.%s: %v", name, err)
		}
		ups[name] = u
	}
	rec := &recorder{}
	site, err := NewSite(SiteConfig{Name: "main", Config: cfg, Upstreams: ups, Gen: NewGeneration(nil), Logger: log, Observers: Observers{Done: rec.Done}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEntry("main")
	e.Swap(site)
	ts := httptest.NewServer(e)
	tp := &testProxy{Server: ts, entry: e, reg: reg, recs: rec}
	t.Cleanup(func() {
		ts.Close()
		for _, u := range ups {
			u.Release()
		}
		reg.Close()
	})
	return tp
}

// backend starts an httptest server and returns its address.
func backend(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func get(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

func mustReq(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
