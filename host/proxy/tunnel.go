package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tunnel completes a WebSocket upgrade: it answers the client's 101 with
// the backend's, then copies bytes both ways until either side closes.
// Only "websocket" upgrades reach this point (see serve).
func (s *Site) tunnel(rs *reqState, resp *http.Response, upType string) error {
	back, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return fmt.Errorf("%w: backend connection is not writable", errBadUpgrade)
	}
	if upType != "websocket" || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		back.Close()
		return fmt.Errorf("%w: backend switched to %q, client asked for %q", errBadUpgrade, resp.Header.Get("Upgrade"), upType)
	}
	hj, ok := rs.w.(http.Hijacker)
	if !ok {
		// HTTP/2 streams cannot be hijacked; WebSocket over h2 (RFC 8441)
		// is not supported.
		back.Close()
		return fmt.Errorf("%w: client connection (%s) cannot be taken over", errBadUpgrade, rs.r.Proto)
	}
	// Both deadlines were for the request; a tunnel lives as long as its
	// ends want.
	rc := http.NewResponseController(rs.w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn, brw, err := hj.Hijack()
	if err != nil {
		back.Close()
		return fmt.Errorf("%w: %v", errBadUpgrade, err)
	}
	rs.wroteHeader = true
	rs.rec.Status = http.StatusSwitchingProtocols

	h := resp.Header.Clone()
	removeHopHeaders(h)
	h["Connection"] = []string{"Upgrade"}
	h["Upgrade"] = []string{"websocket"}
	rs.rec.RespHeader = h
	_, err = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	if err == nil {
		err = h.Write(brw)
	}
	if err == nil {
		_, err = brw.WriteString("\r\n")
	}
	if err == nil {
		err = brw.Flush()
	}
	if err != nil {
		// The client is gone already; nothing to answer.
		conn.Close()
		back.Close()
		rs.rec.Err = err
		return nil
	}

	rs.entry.trackTunnel(conn, back)
	defer rs.entry.untrackTunnel(conn)
	sent, recv := pipe(conn, brw.Reader, back)
	rs.rec.BytesSent += sent
	rs.body.n += recv
	return nil
}

// pipe copies client→backend and backend→client until both directions end,
// and returns the bytes each way. A direction that ends half-closes its
// destination when it can, so protocols with half-close work.
func pipe(client net.Conn, clientBuf *bufio.Reader, back io.ReadWriteCloser) (toClient, toBack int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var src io.Reader = client
		if clientBuf != nil && clientBuf.Buffered() > 0 {
			src = io.MultiReader(io.LimitReader(clientBuf, int64(clientBuf.Buffered())), client)
		}
		toBack, _ = io.Copy(back, src)
		closeWrite(back)
	}()
	toClient, _ = io.Copy(client, back)
	closeWrite(client)
	wg.Wait()
	client.Close()
	back.Close()
	return toClient, toBack
}

func closeWrite(c any) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if err := cw.CloseWrite(); err == nil {
			return
		}
	}
	if cl, ok := c.(io.Closer); ok {
		cl.Close()
	}
}

// trackTunnel and untrackTunnel keep the hijacked connections of an entry,
// which http.Server.Shutdown cannot see, so that CloseTunnels can end them.
func (e *Entry) trackTunnel(client net.Conn, back io.Closer) {
	e.tmu.Lock()
	if e.tunnelSet == nil {
		e.tunnelSet = map[net.Conn]io.Closer{}
	}
	e.tunnelSet[client] = back
	e.tmu.Unlock()
	e.tunnels.Add(1)
}

func (e *Entry) untrackTunnel(client net.Conn) {
	e.tmu.Lock()
	delete(e.tunnelSet, client)
	e.tmu.Unlock()
	e.tunnels.Done()
}

// CloseTunnels closes every upgraded connection of the entry (at the end of
// a shutdown's grace period).
func (e *Entry) CloseTunnels() {
	e.tmu.Lock()
	for c, b := range e.tunnelSet {
		c.Close()
		b.Close()
	}
	e.tmu.Unlock()
}
