package wasm

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// sharedStore holds the data and queues plugins share across VMs. Both are
// namespaced by VM id, which sluice sets to the module's name (its file
// name without .wasm): every VM of a module sees the same data, even
// across hot replacements of the file, and modules never see each other's.
type sharedStore struct {
	mu     sync.Mutex
	data   map[string]map[string]sharedEntry // vm id → key → entry
	cas    uint32
	queues map[uint32]*sharedQueue
	names  map[string]uint32 // vm id + "\x00" + name → queue id
	nextQ  uint32
}

type sharedEntry struct {
	value []byte // never modified once stored
	cas   uint32
}

// sharedQueue is a queue and its consumer: the root context that last
// registered it.
type sharedQueue struct {
	items [][]byte
	v     *vm
	root  *hctx
}

// maxQueueItems bounds a queue nobody drains, so that a plugin cannot
// exhaust the process's memory through it.
const maxQueueItems = 1 << 16

func (s *sharedStore) init() {
	s.data = map[string]map[string]sharedEntry{}
	s.queues = map[uint32]*sharedQueue{}
	s.names = map[string]uint32{}
}

// nextCAS returns a fresh CAS value: a process-wide counter from 1 that
// skips 0 (0 means "no CAS" to set_shared_data). s.mu is held.
func (s *sharedStore) nextCAS() uint32 {
	s.cas++
	if s.cas == 0 {
		s.cas++
	}
	return s.cas
}

// hostGetSharedData implements proxy_get_shared_data(key_ptr, key_len,
// return_value_ptr, return_value_len, return_cas): the value of a key of
// the VM id's store and its CAS.
//
// For an absent key it still writes a CAS to return_cas, a fresh one no
// key holds (abi.FuncGetSharedData). Passed back to set_shared_data it
// creates the key only if nobody has meanwhile: the "create if absent"
// Envoy lacks, without which two VMs that both find a counter absent both
// store 1. Guests that pass 0 after NOT_FOUND, as Envoy's SDKs do, still
// write unconditionally.
//
// Statuses: OK; NOT_FOUND for an absent key; INVALID_MEMORY_ACCESS.
func hostGetSharedData(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	key, ok := v.read(u32(stack, 0), u32(stack, 1))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	s := &v.rt.shared
	s.mu.Lock()
	e, found := s.data[v.pool.vmID][string(key)]
	if !found {
		e.cas = s.nextCAS()
	}
	s.mu.Unlock()
	if !found {
		// A guest that does not read return_cas after NOT_FOUND may have
		// passed anything there: the status matters, the write is a favour.
		v.putU32(u32(stack, 4), e.cas)
		ret(stack, abi.StatusNotFound)
		return
	}
	if st := v.returnBytes(e.value, u32(stack, 2), u32(stack, 3)); st != abi.StatusOK {
		ret(stack, st)
		return
	}
	if !v.putU32(u32(stack, 4), e.cas) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// hostSetSharedData implements proxy_set_shared_data(key_ptr, key_len,
// value_ptr, value_len, cas): stores the value under a new CAS, unless the
// key exists, cas is not 0 and differs from the stored CAS. Since every CAS
// is handed out once, the one get_shared_data gave for an absent key never
// matches a stored one: a set with it fails once somebody created the key.
//
// Statuses: OK; CAS_MISMATCH; INVALID_MEMORY_ACCESS.
func hostSetSharedData(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	key, ok1 := v.read(u32(stack, 0), u32(stack, 1))
	val, ok2 := v.read(u32(stack, 2), u32(stack, 3))
	if !ok1 || !ok2 {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	cas := u32(stack, 4)
	s := &v.rt.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.data[v.pool.vmID]
	if ns == nil {
		ns = map[string]sharedEntry{}
		s.data[v.pool.vmID] = ns
	}
	if e, found := ns[string(key)]; found && cas != 0 && cas != e.cas {
		ret(stack, abi.StatusCasMismatch)
		return
	}
	ns[string(key)] = sharedEntry{value: append([]byte(nil), val...), cas: s.nextCAS()}
	ret(stack, abi.StatusOK)
}

// hostRegisterSharedQueue implements proxy_register_shared_queue(name_ptr,
// name_len, return_queue_id): creates the queue (vm id, name) or opens it,
// making the current context's root its consumer (the one that gets
// proxy_on_queue_ready). Queue ids are process-wide, never 0.
//
// Statuses: OK; INVALID_MEMORY_ACCESS.
func hostRegisterSharedQueue(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	name, ok := v.read(u32(stack, 0), u32(stack, 1))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	var root *hctx
	if h := v.current(); h != nil {
		root = h.rootOf()
	}
	s := &v.rt.shared
	s.mu.Lock()
	k := v.pool.vmID + "\x00" + string(name)
	id := s.names[k]
	if id == 0 {
		s.nextQ++
		if s.nextQ == 0 {
			s.nextQ++
		}
		id = s.nextQ
		s.names[k] = id
		s.queues[id] = &sharedQueue{}
	}
	q := s.queues[id]
	q.v, q.root = v, root
	s.mu.Unlock()
	if !v.putU32(u32(stack, 2), id) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// hostResolveSharedQueue implements proxy_resolve_shared_queue(vm_id_ptr,
// vm_id_len, name_ptr, name_len, return_queue_id): the id of an existing
// queue; an empty vm id means the caller's.
//
// Statuses: OK; NOT_FOUND; INVALID_MEMORY_ACCESS.
func hostResolveSharedQueue(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	vmID, ok1 := v.read(u32(stack, 0), u32(stack, 1))
	name, ok2 := v.read(u32(stack, 2), u32(stack, 3))
	if !ok1 || !ok2 {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ns := string(vmID)
	if ns == "" {
		ns = v.pool.vmID
	}
	s := &v.rt.shared
	s.mu.Lock()
	id := s.names[ns+"\x00"+string(name)]
	s.mu.Unlock()
	if id == 0 {
		ret(stack, abi.StatusNotFound)
		return
	}
	if !v.putU32(u32(stack, 4), id) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// hostEnqueueSharedQueue implements proxy_enqueue_shared_queue(queue_id,
// value_ptr, value_len): appends a copy of the value, then posts
// proxy_on_queue_ready(consumer_root, queue_id) to the consumer's VM
// (never run inside the producer's call).
//
// Statuses: OK; NOT_FOUND for an unknown queue; INTERNAL_FAILURE when the
// queue already holds 65536 items; INVALID_MEMORY_ACCESS.
func hostEnqueueSharedQueue(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	val, ok := v.read(u32(stack, 1), u32(stack, 2))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	id := u32(stack, 0)
	s := &v.rt.shared
	s.mu.Lock()
	q := s.queues[id]
	if q == nil {
		s.mu.Unlock()
		ret(stack, abi.StatusNotFound)
		return
	}
	if len(q.items) >= maxQueueItems {
		s.mu.Unlock()
		ret(stack, abi.StatusInternalFailure)
		return
	}
	q.items = append(q.items, append([]byte(nil), val...))
	cv, root := q.v, q.root
	s.mu.Unlock()
	if cv != nil && root != nil {
		cv.post(func() { cv.queueReady(root, id) })
	}
	ret(stack, abi.StatusOK)
}

func (v *vm) queueReady(root *hctx, id uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.dead.Load() || v.contexts[root.id] != root {
		return
	}
	_, _ = v.call(root, v.fns.onQueueReady, uint64(root.id), uint64(id))
}

// hostDequeueSharedQueue implements proxy_dequeue_shared_queue(queue_id,
// return_ptr, return_len): pops the oldest item.
//
// Statuses: OK; NOT_FOUND for an unknown queue; EMPTY;
// INVALID_MEMORY_ACCESS.
func hostDequeueSharedQueue(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	s := &v.rt.shared
	s.mu.Lock()
	q := s.queues[u32(stack, 0)]
	if q == nil {
		s.mu.Unlock()
		ret(stack, abi.StatusNotFound)
		return
	}
	if len(q.items) == 0 {
		s.mu.Unlock()
		ret(stack, abi.StatusEmpty)
		return
	}
	item := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	s.mu.Unlock()
	ret(stack, v.returnBytes(item, u32(stack, 1), u32(stack, 2)))
}
