package h1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzRequest feeds arbitrary bytes to a connection. The server must not
// panic, must answer with an HTTP/1.1 status line or nothing, and must
// accept nothing that net/http's own parser refuses: a request the handler
// sees parses with http.ReadRequest too, to the same method, target, host
// and length.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: 1\r\n\r\n",
		"GET http://h/p HTTP/1.0\r\n\r\n",
		"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		h2Preface,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		type seen struct {
			method, uri, host string
			length            int64
		}
		got := make(chan seen, 8)
		// Short timeouts end the connection soon after the input does.
		s := &Server{Logger: discard(), MaxHeaderBytes: 8192, ReadTimeout: 50 * time.Millisecond, IdleTimeout: 20 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			got <- seen{r.Method, r.RequestURI, r.Host, r.ContentLength}
		})}
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.ServeConn(server); close(done) }()
		go func() {
			client.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			io.WriteString(client, in)
		}()
		client.SetReadDeadline(time.Now().Add(time.Second))
		out, _ := io.ReadAll(io.LimitReader(client, 1<<20))
		client.Close()
		<-done
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("answer starts %q", out[:min(len(out), 40)])
		}
		close(got)
		first, ok := <-got
		if !ok {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			t.Fatalf("served a request net/http refuses (%v): %q", err, in)
		}
		want := seen{req.Method, req.RequestURI, req.Host, req.ContentLength}
		if first != want {
			t.Fatalf("served %+v; net/http reads %+v", first, want)
		}
	})
}
