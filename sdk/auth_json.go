package sdk

import "github.com/sluice-proxy/sluice/sdk/internal/jsonlite"

// JSONValue is one parsed JSON value, a small tree: Kind says which of Str
// (a string's text, or a number's literal text for strconv), Bool, Items
// (an array) or Members (an object, in document order; Get finds one) is
// set.
type JSONValue = jsonlite.Value

// JSONMember is one key and value of a JSON object.
type JSONMember = jsonlite.Member

// JSONKind is the JSON type of a JSONValue.
type JSONKind = jsonlite.Kind

// The JSON types.
const (
	JSONNull   = jsonlite.Null
	JSONBool   = jsonlite.Bool
	JSONNumber = jsonlite.Number
	JSONString = jsonlite.String
	JSONArray  = jsonlite.Array
	JSONObject = jsonlite.Object
)

// ParseJSON parses exactly one JSON value (RFC 8259) without reflection:
// plugins that read small documents at request time (a JWT's claims, a
// JWKS) use it instead of encoding/json, which adds about 450 KiB to a
// plugin. It is strict: trailing data, duplicate object keys, invalid
// escapes and nesting deeper than 64 are errors naming the byte offset.
func ParseJSON(data []byte) (JSONValue, error) { return jsonlite.Parse(data) }
