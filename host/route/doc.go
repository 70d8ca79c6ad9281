// Package route picks the location a request goes to, and compiles what a
// location does to the request on its way upstream: the path rewrite and
// the header values of proxy_set_headers and proxy_add_headers.
//
// It is pure: it reads an *http.Request but writes no response, does no I/O
// and keeps no state between requests. Compile builds a Table per server
// once per config generation and reports every config problem at once;
// Table.Match runs on every request and allocates nothing unless the
// winning location's regexes capture variables.
//
// # Matching
//
// A server's locations are tried in weight order (below); the first one
// whose host, path and conditions all hold wins. No match is nil, which the
// proxy answers with 404.
//
// Host is the host of the request URI (absolute-form or HTTP/2) or else
// the Host header, without its port ("[::1]:8080" is "::1"). The host
// setting is a comma-separated list, any entry of which may match; empty
// matches every host:
//
//	example.com      the host itself, in any letter case
//	*.example.com    one or more labels before example.com (a.example.com,
//	                 a.b.example.com), in any letter case; not example.com
//	~^(?P<app>\w+)\.example\.com$
//	                 a regular expression searched in the host as sent
//	                 (letter case kept, port removed); named groups
//	                 become variables ($app)
//
// Path is the request's URL path as net/http decodes it (percent-escapes
// decoded, dot segments left as they are):
//
//	(empty)          every path
//	=/login          exactly /login
//	~^/user/(?P<id>\d+)
//	                 a regular expression searched anywhere in the path
//	                 (anchor it with ^ to match from the start); named
//	                 groups become variables
//	/api             paths starting with /api; note that /apix matches too,
//	                 as in Pingap (write /api/ to stop at the segment)
//
// match_headers, match_query and match_cookies must all hold: "name:value"
// requires the first value of name to be exactly value, "name" only that it
// is present.
//
// # Weight
//
// A location's weight is its weight setting if that is not zero, else
// computed as Pingap does, so that the more specific location wins:
//
//	path "=..." (longer than 1 character)   +1024
//	path prefix (longer than 1 character)    +512
//	path "~..." (longer than 1 character)    +256
//	  and the path's length, "=" or "~" included, up to 64
//	host without any "~regex" entry         +128
//	host with a "~regex" entry               + length of the host setting
//
// Higher weights are tried first; equal weights keep the order of the
// server's locations list. So an exact path ("=/api", 1029) is tried before
// a prefix ("/api", 516), a prefix before a regex ("~^/api", 262), a longer
// path before a shorter one of the same kind, and a location with only a
// host ("example.com", 128) after every location with a path longer than
// one character and before one with no rule at all ("/" or nothing, 0).
//
// # Variables
//
// Named groups of the matched location's path and host regexes become the
// request's Vars (a host group wins over a path group of the same name).
// Location.Rewrite adds the named groups of the rewrite regex. Variables
// are used by upstream = "$name", by the rewrite replacement and by header
// templates.
//
// # Rewrite
//
// rewrite = "<regex> <replacement>" replaces the first match of the regex
// in the path; the query string is kept. The replacement may use $1, $name
// and ${name} for the regex's groups ($$ is a dollar sign), and the host
// and path variables of the location, which are substituted first:
//
//	rewrite = "^/api/(.*)$ /$1"    /api/users -> /users
//	rewrite = "^/api "             deletes the first "/api"
//	rewrite = "/apps/$app"         one token with "$": the whole path
//	                               becomes /apps/<app>
//
// # Header templates
//
// proxy_set_headers and proxy_add_headers are "Name: value"; the value may
// hold variables, alone or inside text ("prefix-$host", "${host}-x"):
// $host, $scheme, $hostname, $remote_addr, $remote_port, $server_addr,
// $server_port, $upstream_addr, $proxy_add_x_forwarded_for, $http_NAME (a
// request header), :key or ${:key} (a request context value), a captured
// variable, or an environment variable, read once when the config loads.
// What is none of these stays as written. See ParseTemplate. Each variable
// is classified when the config loads, so expanding a value per request
// is a walk over prepared pieces.
package route
