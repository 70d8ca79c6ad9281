package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

func TestWebSocket(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "h2c" {
			// A backend that would switch protocols if the proxy let the
			// token through.
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "h2c")
			w.WriteHeader(http.StatusSwitchingProtocols)
			return
		}
		if r.Header.Get("Upgrade") == "" {
			io.WriteString(w, "plain request")
			return
		}
		websocket.Handler(func(c *websocket.Conn) { io.Copy(c, c) }).ServeHTTP(w, r)
	})
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "b"
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"b": back})

	t.Run("echo both ways", func(t *testing.T) {
		ws, err := websocket.Dial("ws"+strings.TrimPrefix(p.URL, "http")+"/ws", "", p.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		for _, msg := range []string{"hello", strings.Repeat("big", 20000), "bye"} {
			if err := websocket.Message.Send(ws, msg); err != nil {
				t.Fatal(err)
			}
			// The echo handler writes back what each read got, so a big
			// message may return in several frames.
			var got string
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(got) < len(msg) {
				var part string
				if err := websocket.Message.Receive(ws, &part); err != nil {
					t.Fatal(err)
				}
				got += part
			}
			if got != msg {
				t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
			}
		}
	})

	t.Run("h2c upgrade is not forwarded", func(t *testing.T) {
		c, err := net.Dial("tcp", p.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "plain request" {
			t.Errorf("got %d %q; want the backend's plain answer, the upgrade dropped", resp.StatusCode, body)
		}
	})
}
