package wasm

import (
	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// hostFuncs are the implementations of abi.HostFunctions, one file per
// area (abi_*.go). Each is an api.GoModuleFunc: wazero calls it without
// reflection, with the guest's arguments in stack and the status to return
// written to stack[0]. Each finds its vm with vmFrom(ctx).
//
// Every function returns the status Envoy returns in the same situation
// (proxy-wasm.md §3), since SDKs panic on statuses they do not expect. Bad
// guest pointers are StatusInvalidMemoryAccess, not traps.
var hostFuncs = map[string]api.GoModuleFunc{
	abi.FuncLog:                       hostLog,
	abi.FuncGetLogLevel:               hostGetLogLevel,
	abi.FuncGetCurrentTimeNanoseconds: hostGetCurrentTime,
	abi.FuncSetTickPeriodMilliseconds: hostSetTickPeriod,
	abi.FuncGetBufferBytes:            hostGetBufferBytes,
	abi.FuncSetBufferBytes:            hostSetBufferBytes,
	abi.FuncGetBufferStatus:           hostGetBufferStatus,
	abi.FuncGetHeaderMapPairs:         hostGetHeaderMapPairs,
	abi.FuncSetHeaderMapPairs:         hostSetHeaderMapPairs,
	abi.FuncGetHeaderMapValue:         hostGetHeaderMapValue,
	abi.FuncAddHeaderMapValue:         hostAddHeaderMapValue,
	abi.FuncReplaceHeaderMapValue:     hostReplaceHeaderMapValue,
	abi.FuncRemoveHeaderMapValue:      hostRemoveHeaderMapValue,
	abi.FuncGetHeaderMapSize:          hostGetHeaderMapSize,
	abi.FuncContinueStream:            hostContinueStream,
	abi.FuncCloseStream:               hostCloseStream,
	abi.FuncSendLocalResponse:         hostSendLocalResponse,
	abi.FuncGetStatus:                 hostGetStatus,
	abi.FuncHTTPCall:                  hostHTTPCall,
	abi.FuncGetSharedData:             hostGetSharedData,
	abi.FuncSetSharedData:             hostSetSharedData,
	abi.FuncRegisterSharedQueue:       hostRegisterSharedQueue,
	abi.FuncResolveSharedQueue:        hostResolveSharedQueue,
	abi.FuncEnqueueSharedQueue:        hostEnqueueSharedQueue,
	abi.FuncDequeueSharedQueue:        hostDequeueSharedQueue,
	abi.FuncDefineMetric:              hostDefineMetric,
	abi.FuncIncrementMetric:           hostIncrementMetric,
	abi.FuncRecordMetric:              hostRecordMetric,
	abi.FuncGetMetric:                 hostGetMetric,
	abi.FuncGetProperty:               hostGetProperty,
	abi.FuncSetProperty:               hostSetProperty,
	abi.FuncSetEffectiveContext:       hostSetEffectiveContext,
	abi.FuncDone:                      hostDone,
	abi.FuncCallForeignFunction:       hostCallForeignFunction,
}

// u32 returns argument i as a guest u32 (pointer, size, enum).
func u32(stack []uint64, i int) uint32 { return uint32(stack[i]) }

// ret writes status s as the function's result.
func ret(stack []uint64, s abi.Status) { stack[0] = uint64(s) }
