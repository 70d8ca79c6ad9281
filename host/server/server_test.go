package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// Regression: Apply started the accept loop of a new socket before it
// attached the server, so a connection that came at once (a client that
// connects as soon as the port answers) was closed unread, and the client,
// which had sent its request, got a reset.
func TestApplyServesFirstConnection(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for i := range 50 {
		clients := make(chan net.Conn, 1)
		m := NewManager(Options{
			Logger:      slog.New(slog.DiscardHandler),
			GracePeriod: time.Second,
			// The client connects and sends its request while the
			// socket is being opened, before Apply can attach anything.
			Listen: func(addr string, o TCPOptions) (net.Listener, error) {
				ln, err := Listen("127.0.0.1:0", o)
				if err != nil {
					return nil, err
				}
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					ln.Close()
					return nil, err
				}
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				clients <- c
				return ln, nil
			},
		})
		if err := m.Apply([]Spec{{Name: "main", Addrs: []string{"first"}, Handler: ok}}); err != nil {
			t.Fatal(err)
		}
		c := <-clients
		c.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("round %d: status %d", i, resp.StatusCode)
		}
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}
