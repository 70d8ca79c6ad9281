package sdktest

import "github.com/sluice-proxy/sluice/abi"

// ForeignError is an error a foreign function registered with
// WithForeignFunction returns to choose the status the plugin sees (as
// sluice's adapters do: NOT_FOUND for a missing file, BAD_ARGUMENT for bad
// input). Any other error is SERIALIZATION_FAILURE.
type ForeignError struct {
	Status abi.Status
	Err    error
}

// Error implements error.
func (e *ForeignError) Error() string {
	if e.Err == nil {
		return e.Status.String()
	}
	return e.Status.String() + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ForeignError) Unwrap() error { return e.Err }
