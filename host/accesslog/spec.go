package accesslog

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rolling is how often a log file starts anew.
type Rolling uint8

// Rolling periods.
const (
	// Never writes to the path itself.
	Never Rolling = iota
	// Minutely, Hourly and Daily write to the path with the UTC minute,
	// hour or day appended.
	Minutely
	Hourly
	Daily
)

var rollingNames = map[string]Rolling{"never": Never, "minutely": Minutely, "hourly": Hourly, "daily": Daily}

// String returns the rolling period's name as written in the config.
func (r Rolling) String() string {
	for k, v := range rollingNames {
		if v == r {
			return k
		}
	}
	return "rolling(" + strconv.Itoa(int(r)) + ")"
}

// DefaultBuffer is the number of lines an Output queues when
// channel_buffer is not set: enough for a burst of a few milliseconds at
// a few hundred thousand requests per second.
const DefaultBuffer = 4096

// Spec is a parsed access_log setting.
type Spec struct {
	// Path is the file the lines go to, as written in the config (the
	// caller resolves a relative path); "" means standard output.
	Path string
	// Rolling is the rotation period (rolling=...). Default Never.
	Rolling Rolling
	// Buffer is how many lines may wait for the writer before new ones
	// are dropped (channel_buffer=...). Default DefaultBuffer.
	Buffer int
	// FlushTimeout, when positive, lets written lines wait up to that long
	// in the write buffer so that a busy log makes fewer, larger writes
	// (flush_timeout=...). Zero flushes whenever no line is waiting.
	FlushTimeout time.Duration
	// JSON writes each line as a JSON object (format=json) instead of the
	// template's text.
	JSON bool
	// Format is the preset name or template.
	Format string
}

// ParseSpec parses an access_log setting: a preset or template, optionally
// preceded by a destination and a space, as in Pingap:
//
//	combined
//	{method} {uri} {status}
//	/var/log/sluice/access.log?rolling=daily combined
//	/var/log/sluice/access.log {when} {uri}
//	?format=json {method} {uri} {status}     (standard output, as JSON)
//	stdout?format=json combined              (the same)
//
// The first word is a destination only when what follows it is a preset
// or starts with '{' (Pingap's rule) and the word looks like a path (it
// has a '/', '.' or '?', starts with '~', or is "stdout"), so a template
// such as "GET {uri}" never loses its first word to a file named GET. The destination's options are rolling=never|minutely|hourly|daily,
// channel_buffer=N, flush_timeout=DURATION and format=text|json; any other
// option is an error. The format itself is checked by Compile.
func ParseSpec(s string) (Spec, error) {
	sp := Spec{Buffer: DefaultBuffer, Format: strings.TrimSpace(s)}
	if sp.Format == "" {
		return sp, fmt.Errorf("access_log is empty")
	}
	if sp.Format[0] == '{' {
		return sp, nil
	}
	dest, rest, ok := strings.Cut(sp.Format, " ")
	rest = strings.TrimLeft(rest, " ")
	if !ok || rest == "" {
		return sp, nil
	}
	if _, preset := Presets[rest]; !preset && rest[0] != '{' || !looksLikeDest(dest) {
		return sp, nil
	}
	sp.Format = rest
	path, query, _ := strings.Cut(dest, "?")
	if path != "stdout" {
		sp.Path = path
	}
	if err := sp.options(query); err != nil {
		return sp, fmt.Errorf("access_log destination %q: %w", dest, err)
	}
	return sp, nil
}

func (sp *Spec) options(query string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("bad options: %w", err)
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := q.Get(k)
		switch k {
		case "rolling":
			r, ok := rollingNames[strings.ToLower(v)]
			if !ok {
				return fmt.Errorf("rolling=%q: want never, minutely, hourly or daily", v)
			}
			if sp.Path == "" && r != Never {
				return fmt.Errorf("rolling=%s: standard output cannot rotate", v)
			}
			sp.Rolling = r
		case "channel_buffer":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("channel_buffer=%q: want a positive number of lines", v)
			}
			sp.Buffer = n
		case "flush_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("flush_timeout=%q: want a duration such as 1s", v)
			}
			sp.FlushTimeout = d
		case "format":
			switch strings.ToLower(v) {
			case "json":
				sp.JSON = true
			case "text", "":
				sp.JSON = false
			default:
				return fmt.Errorf("format=%q: want text or json", v)
			}
		default:
			return fmt.Errorf("unknown option %q (options are rolling, channel_buffer, flush_timeout and format)", k)
		}
	}
	return nil
}

func looksLikeDest(w string) bool {
	return strings.ContainsAny(w, "/.?") || strings.HasPrefix(w, "~") || strings.HasPrefix(w, "stdout")
}
