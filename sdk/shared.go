package sdk

import (
	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// GetSharedData reads key from the store shared by every VM of this plugin
// module in the process. It returns the value and its CAS token, or
// ErrNotFound together with a token that SetSharedData accepts only while
// the key is still absent (a sluice extension of the ABI: under Envoy the
// token is 0 and the set always stores).
func GetSharedData(key string) (value []byte, cas uint32, err error) {
	value, cas, st := hostcall.GetSharedData(key)
	return value, cas, statusErrArg("get shared data ", key, st)
}

// SetSharedData stores value under key. With cas 0 it writes
// unconditionally; otherwise only if the key still has that CAS token, else
// it returns ErrCASMismatch.
func SetSharedData(key string, value []byte, cas uint32) error {
	return statusErrArg("set shared data ", key, hostcall.SetSharedData(key, value, cas))
}

// maxCASAttempts bounds UpdateSharedData's retries: every retry means
// another VM wrote in between, so a handful is plenty unless something spins.
const maxCASAttempts = 64

// UpdateSharedData applies fn to the value of key (nil and false when
// absent) and stores the result with compare-and-swap, retrying when another
// VM wrote in between. It returns the value stored.
//
// Under sluice the first write is compare-and-swapped too (see
// GetSharedData). Envoy has no "create if absent": there two VMs that both
// find the key absent may both write, so a plugin meant for both creates
// its keys once, when it is configured.
func UpdateSharedData(key string, fn func(old []byte, exists bool) []byte) ([]byte, error) {
	for range maxCASAttempts {
		old, cas, st := hostcall.GetSharedData(key)
		if st != abi.StatusOK && st != abi.StatusNotFound {
			return nil, statusErrArg("get shared data ", key, st)
		}
		exists := st == abi.StatusOK
		next := fn(old, exists)
		st = hostcall.SetSharedData(key, next, cas)
		if st == abi.StatusOK {
			return next, nil
		}
		if st != abi.StatusCasMismatch {
			return nil, statusErrArg("set shared data ", key, st)
		}
	}
	return nil, &StatusError{Op: "update shared data " + key + ": too much contention", Status: abi.StatusCasMismatch}
}

// Queue is a shared queue: a FIFO of byte strings between VMs and plugins.
type Queue uint32

// RegisterQueue creates (or opens) the queue name owned by this plugin
// instance: its QueueHandler is told when items arrive.
func RegisterQueue(name string) (Queue, error) {
	id, st := hostcall.RegisterSharedQueue(name)
	return Queue(id), statusErrArg("register queue ", name, st)
}

// ResolveQueue finds the queue name registered by a plugin of VM vmID (""
// for this plugin's own VM id), or ErrNotFound.
func ResolveQueue(vmID, name string) (Queue, error) {
	id, st := hostcall.ResolveSharedQueue(vmID, name)
	return Queue(id), statusErrArg("resolve queue ", name, st)
}

// Enqueue appends data to the queue.
func (q Queue) Enqueue(data []byte) error {
	return statusErr("enqueue", hostcall.EnqueueSharedQueue(uint32(q), data))
}

// Dequeue pops the oldest item, or returns ErrQueueEmpty.
func (q Queue) Dequeue() ([]byte, error) {
	b, st := hostcall.DequeueSharedQueue(uint32(q))
	return b, statusErr("dequeue", st)
}
