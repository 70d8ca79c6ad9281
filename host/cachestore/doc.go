// Package cachestore is the host side of the cache plugin: bounded stores
// of HTTP responses in memory or on disk, reached by plugins through the
// foreign functions of abi/cacheabi. The plugin owns the policy (what is
// cacheable, for how long, which variant a request gets, what to answer);
// the store keeps bytes and times, evicts, and coalesces fetches.
//
// # Model
//
// A Registry is made once per process and kept across config reloads, so
// that a reload does not empty the caches. A plugin opens a store by its
// directory string (Pingap's `directory`: "" or memory://NAME for memory, an
// absolute path for disk, with ?max_size=...); every plugin, VM and config
// generation naming the same directory shares one store, whose bound is
// that of the last Open.
//
// An entry is named by namespace, key and variant (cacheabi.AppendName),
// and holds the plugin's meta (its encoding of status and headers) and the
// body, with three times given by the plugin when it stores the entry:
// fresh until, stale-while-revalidate until, and keep until (after which
// the store drops it). Each store is bounded in bytes: a memory store
// counts names, metas, bodies and a per-entry overhead; a disk store the
// sizes of its files. Past the bound the least recently used entries go.
//
// A disk store keeps one file per entry (see disk.go), written under tmp/
// and renamed into place, and an index in memory. A store opened on a
// directory an earlier process filled indexes it in the background; until
// that is done a lookup the index misses reads the entry's file directly,
// so a restart serves the old entries at once.
//
// # Coalescing
//
// A lookup with cacheabi.FlagLock that finds no fresh entry takes the name's
// lock (a token) if nobody holds it; otherwise it registers the caller's
// queue as a waiter and answers KindWait. The lock ends when the holder's
// write is committed or aborted, when it is released, or at its deadline;
// the waiters' queues are returned to the releasing plugin (a Wake), which
// tells them. N concurrent misses thus make one upstream request. The host
// never calls into plugins itself: this package knows nothing of Wasm.
//
// # Writes
//
// A write is begun with the first part of the body (or all of it), fed
// with Append and ended with Commit or Abort; a body over the write's bound
// spoils it. Writes belong to the plugin that began them; one left idle
// for Options.WriteIdle (its VM died) is dropped at the next Begin.
//
// # Concurrency
//
// Registry and Store are safe for concurrent use. Lookups copy an entry's
// bytes out of the store without holding its lock (memory entries are never
// written again; disk files are replaced by rename and checked against the
// index). Sweeps of dead entries and the disk scan run on goroutines that
// Registry.Close waits for.
package cachestore
