// Package files serves static files to Wasm plugins (directory): the host
// side of the foreign functions declared in abi/filesabi
// (sluice.files.stat, .read, .list).
//
// # Why a foreign function and not WASI preopens
//
// A guest has no filesystem. WASI preopens would mount directories into a
// module when its VMs are instantiated: per module, not per plugin
// configuration (every [plugins.X] of a module shares its VMs), fixed for
// the VMs' life (a reload that changes `path` would need new VMs), and
// resolved by the guest's own path handling. A foreign function keeps the
// grant per plugin configuration, changes with each reload, and lets the
// host alone resolve paths, with os.Root: "..", absolute paths and
// symbolic links that lead out of the root are refused by the kernel-level
// openat walk, whatever the guest sends.
//
// # Grants
//
// FS maps a plugin name (its [plugins.NAME]) to the one root directory it
// may read. The guest never names the root, only paths under it. The app
// adds the new config's grants (AddGrants(Grants(cfg))) before it loads the
// plugins of a generation, so that a plugin checks its root while it is
// configured, and sets them (SetGrants) once the load succeeded or failed.
//
// # Streaming
//
// Read returns at most filesabi.MaxRead bytes per call; Open gives the host
// an *os.File resolved under a plugin's root the same way, for a response
// body that the proxy streams itself.
//
// FS is safe for concurrent use.
package files
