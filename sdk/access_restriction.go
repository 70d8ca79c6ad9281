package sdk

import (
	"strconv"
	"strings"
)

// Restriction is the policy Pingap's *_restriction plugins share. "type"
// says whether the clients a plugin lists are the only ones let through
// ("allow", the default) or the ones turned away ("deny"); "message" is
// the body of the 403 (default "Request is forbidden"). What a plugin
// lists (addresses, referers, user agents) stays its own.
type Restriction struct {
	Deny    bool
	Message []byte
}

var textPlain = [][2]string{{"content-type", "text/plain; charset=utf-8"}}

// Restriction reads "type" and "message"; a type other than allow or deny
// is reported through Invalid.
func (c *Config) Restriction() Restriction {
	var p Restriction
	switch t := c.String("type", ""); strings.ToLower(t) {
	case "", "allow":
	case "deny":
		p.Deny = true
	default:
		c.Invalid("type", `want "allow" or "deny", got `+strconv.Quote(t))
	}
	p.Message = []byte(c.String("message", ""))
	if len(p.Message) == 0 {
		p.Message = []byte("Request is forbidden")
	}
	return p
}

// Check passes the request on when listed (whether the plugin's list
// matched it) is what the policy lets through, and otherwise answers 403
// with the message.
func (p Restriction) Check(r Request, listed bool) Action {
	if listed != p.Deny {
		return Continue
	}
	if err := r.Respond(403, textPlain, p.Message); err != nil {
		Error("answering 403: " + err.Error())
	}
	return Pause
}
