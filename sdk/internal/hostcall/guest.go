package hostcall

import "github.com/sluice-proxy/sluice/abi"

// Guest receives the host's callbacks (the proxy-wasm exports). The sdk
// package implements it and registers itself with SetGuest when it is
// initialized. Context ids are the host's; parent 0 means a root context.
type Guest interface {
	OnContextCreate(contextID, parentID uint32)
	OnVMStart(rootID, vmConfigSize uint32) bool
	OnConfigure(rootID, configSize uint32) bool
	OnTick(rootID uint32)
	OnQueueReady(rootID, queueID uint32)
	OnRequestHeaders(contextID, numHeaders uint32, endOfStream bool) abi.Action
	OnRequestBody(contextID, bodySize uint32, endOfStream bool) abi.Action
	OnRequestTrailers(contextID, numTrailers uint32) abi.Action
	OnResponseHeaders(contextID, numHeaders uint32, endOfStream bool) abi.Action
	OnResponseBody(contextID, bodySize uint32, endOfStream bool) abi.Action
	OnResponseTrailers(contextID, numTrailers uint32) abi.Action
	OnHTTPCallResponse(rootID, token, numHeaders, bodySize, numTrailers uint32)
	OnLog(contextID uint32)
	OnDone(contextID uint32) bool
	OnDelete(contextID uint32)
	// StreamCallbacks answers the sluice extension
	// abi.CallbackStreamCallbacks: which stream callbacks the plugin at
	// rootID has handlers for.
	StreamCallbacks(rootID uint32) abi.StreamCallbacks
}

var guest Guest

// SetGuest registers the callback receiver. The sdk package calls it from
// its init function; a later call replaces the receiver.
func SetGuest(g Guest) { guest = g }

// CurrentGuest returns the registered callback receiver, or nil.
func CurrentGuest() Guest { return guest }

// Resetter is implemented by a Guest that can forget every context, as if the
// VM had just started. sdktest uses it to give each test a fresh VM.
type Resetter interface{ Reset() }
