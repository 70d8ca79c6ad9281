package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluice-proxy/sluice/host/upstream"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// Sentinel errors of the pipeline. Each maps to one status in statusOf.
var (
	errNoLocation     = errors.New("no location matches")
	errTooBusy        = errors.New("too many requests in flight")
	errBodyTooLarge   = errors.New("request body too large")
	errNoUpstream     = errors.New("location has no upstream")
	errUnknownUp      = errors.New("unknown upstream")
	errPluginFailed   = errors.New("plugin failed")
	errBadUpgrade     = errors.New("upgrade not possible")
	errClientCanceled = errors.New("client went away")
)

// Error is a failure with the HTTP status it earns and the short cause shown
// to the client. Internal steps return plain errors; respondError turns them
// into an Error with statusOf, so that the mapping lives here only.
type Error struct {
	Status int
	// Cause is the short, client-safe description ("upstream timed out").
	Cause string
	// Err is the underlying error, logged but never sent to the client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Cause + ": " + e.Err.Error()
	}
	return e.Cause
}

func (e *Error) Unwrap() error { return e.Err }

// statusOf maps a pipeline error to its status and cause:
//
//	no location            404
//	body too large         413
//	too busy               429
//	unforwardable request  400
//	client canceled        499 (never sent; for the log)
//	plugin failure         500
//	connect refused/reset  502
//	no healthy backend     503
//	upstream timeout       504
func statusOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, errNoLocation):
		return &Error{http.StatusNotFound, "no location matches this request", err}
	case errors.Is(err, errBodyTooLarge):
		return &Error{http.StatusRequestEntityTooLarge, "request body exceeds client_max_body_size", err}
	case errors.Is(err, errTooBusy):
		return &Error{http.StatusTooManyRequests, "too many requests in flight for this location (max_processing)", err}
	case errors.Is(err, errClientCanceled), errors.Is(err, context.Canceled):
		return &Error{499, "client closed the request", err}
	case errors.Is(err, errPluginFailed):
		return &Error{http.StatusInternalServerError, "a plugin failed", err}
	case errors.Is(err, upstream.ErrNoBackend):
		return &Error{http.StatusServiceUnavailable, "no healthy backend", err}
	case errors.Is(err, errNoUpstream), errors.Is(err, errUnknownUp):
		return &Error{http.StatusBadGateway, "no upstream for this location", err}
	case errors.Is(err, transport.ErrInvalidRequest):
		// E.g. a header value made from a decoded path with a newline in
		// it: the client's doing, and never sent.
		return &Error{http.StatusBadRequest, "request cannot be forwarded", err}
	case errors.Is(err, errBadUpgrade):
		return &Error{http.StatusBadGateway, "upgrade failed", err}
	case isTimeout(err):
		return &Error{http.StatusGatewayTimeout, "upstream timed out", err}
	case isRefused(err):
		return &Error{http.StatusBadGateway, "upstream refused the connection", err}
	default:
		return &Error{http.StatusBadGateway, "upstream error", err}
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, transport.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// errorBody renders the client-facing body: the template of basic.error_template
// if set ({{version}}, {{error_type}}, {{content}}), else one line of text.
type errorPage struct {
	tmpl    string
	isJSON  bool
	version string
}

func newErrorPage(tmpl, version string) *errorPage {
	t := strings.TrimSpace(tmpl)
	return &errorPage{tmpl: tmpl, isJSON: strings.HasPrefix(t, "{"), version: version}
}

func (p *errorPage) render(status int, cause, reqID string) (contentType string, body []byte) {
	content := cause + " (request id " + reqID + ")"
	if p == nil || p.tmpl == "" {
		return "text/plain; charset=utf-8", []byte(strconv.Itoa(status) + " " + http.StatusText(status) + ": " + content + "\n")
	}
	esc := content
	if p.isJSON {
		b := strconv.Quote(content)
		esc = b[1 : len(b)-1]
	} else {
		esc = htmlEscaper.Replace(content)
	}
	r := strings.NewReplacer("{{version}}", p.version, "{{error_type}}", http.StatusText(status), "{{content}}", esc)
	if p.isJSON {
		return "application/json; charset=utf-8", []byte(r.Replace(p.tmpl))
	}
	return "text/html; charset=utf-8", []byte(r.Replace(p.tmpl))
}

var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")
