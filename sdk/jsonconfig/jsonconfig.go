// Package jsonconfig decodes a plugin's JSON configuration into a struct,
// strictly: a key the struct does not have, or a value of the wrong type,
// is an error naming the key, so that a misspelled parameter fails the
// configuration load with a clear message.
//
// It uses encoding/json (field names from `json` tags), which adds about
// 450 KiB to a plugin. sdk.Config reads keys one by one without that cost;
// the built-in plugins use it.
//
//	type config struct {
//		Path   string `json:"path"`
//		Status int    `json:"status"`
//	}
//
//	func init() {
//		jsonconfig.Register(func(c *config) (sdk.Plugin, error) {
//			if c.Status == 0 {
//				c.Status = 200
//			}
//			return &plugin{cfg: *c}, nil
//		})
//	}
package jsonconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

// Decode decodes data, a JSON object (or nothing, for no keys), into v, a
// pointer to a struct. Fields absent from data keep their values, so set
// defaults in v before calling.
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return explain(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("configuration: unexpected data after the JSON object")
	}
	return nil
}

// explain rewords encoding/json's errors in terms of configuration keys.
func explain(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return errors.New("configuration: want a JSON object, got " + typeErr.Value)
		}
		return errors.New("key " + strconv.Quote(typeErr.Field) + ": want " + typeErr.Type.String() + ", got " + typeErr.Value)
	case errors.As(err, &syntaxErr):
		return errors.New("configuration: invalid JSON at offset " + strconv.FormatInt(syntaxErr.Offset, 10) + ": " + syntaxErr.Error())
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errors.New("unknown key " + name)
	}
	return errors.New("configuration: " + strings.TrimPrefix(err.Error(), "json: "))
}

// Register installs a factory that decodes the configuration into a fresh
// T with Decode and passes it to newPlugin.
func Register[T any](newPlugin func(cfg *T) (sdk.Plugin, error)) {
	sdk.Register(func(data []byte) (sdk.Plugin, error) {
		cfg := new(T)
		if err := Decode(data, cfg); err != nil {
			return nil, err
		}
		return newPlugin(cfg)
	})
}
