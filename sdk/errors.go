package sdk

import (
	"errors"

	"github.com/sluice-proxy/sluice/abi"
)

// StatusError is a host function that did not return OK.
type StatusError struct {
	// Op names the SDK operation, e.g. "get shared data".
	Op string
	// Status is what the host returned.
	Status abi.Status
}

// Error implements error.
func (e *StatusError) Error() string {
	if e.Op == "" {
		return "sluice sdk: " + e.Status.String()
	}
	return "sluice sdk: " + e.Op + ": " + e.Status.String()
}

// Is makes errors.Is(err, ErrNotFound) and its siblings match any operation
// that failed with the same status.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Op == "" && t.Status == e.Status
}

// Errors to test with errors.Is.
var (
	// ErrNotFound: no such key, property, queue, metric or foreign
	// function, or the data is not available in this phase.
	ErrNotFound error = &StatusError{Status: abi.StatusNotFound}
	// ErrBadArgument: the host refused the arguments or the phase, e.g.
	// request headers after they were forwarded, or an unknown upstream.
	ErrBadArgument error = &StatusError{Status: abi.StatusBadArgument}
	// ErrCASMismatch: shared data changed since it was read.
	ErrCASMismatch error = &StatusError{Status: abi.StatusCasMismatch}
	// ErrQueueEmpty: Queue.Dequeue found nothing.
	ErrQueueEmpty error = &StatusError{Status: abi.StatusEmpty}
	// ErrUnimplemented: the host does not provide this function.
	ErrUnimplemented error = &StatusError{Status: abi.StatusUnimplemented}

	// ErrStreamGone: the Request's stream has ended; a handle kept past
	// OnDone (e.g. in an http-call callback) is no longer usable.
	ErrStreamGone = errors.New("sluice sdk: the stream has ended")
)

// statusErr returns nil for StatusOK and a *StatusError otherwise.
func statusErr(op string, st abi.Status) error {
	if st == abi.StatusOK {
		return nil
	}
	return &StatusError{Op: op, Status: st}
}

// statusErrArg is statusErr with the operation given as two parts, joined
// only on failure so that the success path does not allocate.
func statusErrArg(op, arg string, st abi.Status) error {
	if st == abi.StatusOK {
		return nil
	}
	return &StatusError{Op: op + arg, Status: st}
}
