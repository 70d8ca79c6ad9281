// Package cacheabi declares, once for the host (host/cachestore) and the
// guests (through sdk), the foreign functions through which a plugin keeps
// HTTP responses in a host cache store: the function names, the byte layout
// of their arguments and results, and the notation of a store's directory.
//
// The store holds bytes and times; the policy (what is cacheable, for how
// long, which variant a request gets) stays in the plugin. A store is named
// by a directory string (Pingap's cache `directory`): "memory://..." or ""
// for memory, a path for disk, each bounded by max_size (ParseDirectory).
// Stores are process-long and shared by every plugin and VM that names the
// same directory, so a config reload does not empty them.
//
// All integers are little-endian. Times are milliseconds. A string is a u32
// length then its bytes.
//
// # Entry names
//
// An entry is named by a namespace, a key and a variant, packed into one
// byte string (AppendName):
//
//	[0:2]        namespace length n (u16)
//	[2:2+n]      namespace
//	[2+n:6+n]    key length k (u32)
//	[6+n:6+n+k]  key
//	[6+n+k:]     variant (the rest; "" for the primary entry)
//
// The variants of one key share the name's prefix up to the variant, which
// is what a purge of the key removes (PurgeKey). A response without Vary is
// stored under variant ""; a plugin that honours Vary stores the list of
// varying headers under "" and each response under a variant computed from
// the request's values of those headers.
//
// # Open (FuncOpen)
//
//	args:   the directory string, e.g. "memory://?max_size=100mb" or
//	        "/var/cache/sluice?max_size=10gb"
//	result: [0:4]  store handle
//
// Opening the same directory again (from another VM, plugin or config
// generation) returns the same store and applies its bounds.
//
// # Lookup (FuncLookup)
//
//	args:   [0:4]   store handle
//	        [4]     LookupFlags
//	        [5:9]   lock timeout (u32 ms; used with FlagLock)
//	        [9:13]  waiter queue id (u32; 0 when the caller cannot wait)
//	        [13:]   the entry name (a string)
//	result: [0]     Kind
//	        [1:9]   lock token (u64)
//	        [9:13]  meta length m (u32)
//	        [13:13+m]  meta, as stored
//	        [13+m:]    body, as stored
//
// Kinds: KindHit (fresh entry), KindStale (past its freshness but within
// its stale-while-revalidate window while another caller refreshes it:
// serve it), KindExpired (past its freshness; the entry comes back so that
// the caller can revalidate it or serve it if the upstream fails),
// KindMiss (no entry), KindWait (no usable entry and another caller holds
// the key's lock: the caller's queue is told when it is released; no
// entry).
//
// With FlagLock, a Miss or Expired result gives the caller the key's lock
// (token != 0) for the lock timeout: concurrent lookups of the same name
// get KindWait (when they name a waiter queue), so that N concurrent
// misses make one upstream request. The token is released by Commit or
// Abort of a write begun with it, or by Release. A Wait result's token
// identifies the lock waited on (it comes back in the Wake of the
// release).
//
// # Begin (FuncBegin)
//
//	args:   [0:4]    store handle
//	        [4:12]   lock token to release when the write ends (0: none)
//	        [12]     BeginFlags
//	        [13:21]  fresh for (u64 ms from now)
//	        [21:29]  stale for (u64 ms after fresh: stale-while-revalidate)
//	        [29:37]  keep for (u64 ms from now: after that the store may drop
//	                 the entry; at least fresh + stale)
//	        [37:45]  max body size (u64; 0: the store's own bound)
//	        then the entry name and the meta (two strings)
//	        then the body, or its first part (the rest of args)
//	result: [0:4]    write handle (0 with FlagComplete)
//	        [4:]     a Wake (with FlagComplete)
//
// With FlagComplete the body is whole and the entry is stored at once;
// otherwise the write continues with Append and ends with Commit (stored,
// replacing any entry of that name) or Abort (dropped). A write belongs
// to the plugin that began it; one left idle is dropped by the host. A
// Begin that fails leaves the lock held: Release it.
//
// # Append (FuncAppend)
//
//	args:   [0:4]  write handle
//	        [4:]   the next part of the body
//	result: empty
//
// A body over the write's bound fails with BAD_ARGUMENT and spoils the
// write: the plugin then calls Abort (which still releases the lock).
//
// # Commit (FuncCommit), Abort (FuncAbort)
//
//	args:   [0:4]  write handle
//	result: a Wake
//
// # Release (FuncRelease)
//
//	args:   [0:4]   store handle
//	        [4:12]  lock token
//	result: a Wake
//
// # Wake
//
//	[0:8]  the lock token released (u64)
//	[8:]   the queue ids of the callers that wait on it (u32 each)
//
// Empty when nobody waits. The host does not enqueue anything itself: the
// plugin that released the lock tells each queue (e.g. with the token and
// whether the entry was stored), and the waiters look up again.
//
// # Purge (FuncPurge)
//
//	args:   [0:4]  store handle
//	        [4]    PurgeScope: PurgeKey (the name's key, every variant),
//	               PurgeKeyPrefix (every key of the namespace that starts
//	               with the name's key) or PurgeNamespace
//	        [5:]   the entry name (a string); its variant does not count,
//	               nor its key with PurgeNamespace
//	result: [0:8]  entries removed (u64)
//
// # Stats (FuncStats)
//
//	args:   [0:4]  store handle
//	result: Stats, 11 u64 fields in its declaration order
//
// # Errors
//
// Malformed arguments, an unknown store handle, a directory that does not
// parse or cannot be used, a body over its bound: BAD_ARGUMENT. An unknown
// write handle, or one of another plugin: NOT_FOUND. Disk failures and too
// many writes at once: INTERNAL_FAILURE.
package cacheabi
