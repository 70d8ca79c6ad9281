package cachestore

import (
	"errors"
	"io/fs"
)

// The errors the foreign functions return. Each wraps the io/fs error that
// wasm.ErrorFunc turns into the status the plugin sees: fs.ErrInvalid is
// BAD_ARGUMENT, fs.ErrNotExist NOT_FOUND; the others are
// INTERNAL_FAILURE.
var (
	// ErrMalformed: arguments that do not follow abi/cacheabi's layouts.
	ErrMalformed = &kindError{"malformed arguments", fs.ErrInvalid}
	// ErrUnknownStore: a store handle that Open never returned.
	ErrUnknownStore = &kindError{"unknown store handle", fs.ErrInvalid}
	// ErrTooLarge: a body over its write's bound or the store's size.
	ErrTooLarge = &kindError{"entry too large", fs.ErrInvalid}
	// ErrSpoiled: Append or Commit on a write that already failed.
	ErrSpoiled = &kindError{"the write failed earlier", fs.ErrInvalid}
	// ErrUnknownWrite: a write handle that is not open, or belongs to
	// another plugin.
	ErrUnknownWrite = &kindError{"unknown write handle", fs.ErrNotExist}
	// ErrTooManyWrites: more writes open at once than Options.MaxWrites.
	ErrTooManyWrites = errors.New("too many cache writes open")
	// ErrClosed: the registry was closed.
	ErrClosed = errors.New("cache registry closed")
)

// kindError is a sentinel that is also one of the io/fs errors.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// invalidError is a refusal with a message of its own (a bad directory)
// that counts as fs.ErrInvalid.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() []error {
	return []error{e.err, fs.ErrInvalid}
}
