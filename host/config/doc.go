// Package config is sluice's configuration: the schema, which doubles as the
// user manual (every field's comment states its key, meaning and default),
// and the loader that turns TOML into a checked Config.
//
// # Format
//
// The TOML keys are Pingap's, so that a Pingap configuration loads:
// [basic], [servers.NAME], [locations.NAME], [upstreams.NAME],
// [plugins.NAME], [certificates.NAME] and [storages.NAME]. Items refer to
// each other by name: a server lists locations, a location names an
// upstream and lists plugins, an item includes storages. Durations are
// "10s"-style strings or numbers of seconds (Duration); sizes are "1mb"-style
// strings or numbers of bytes (ByteSize).
//
// # Sources
//
// Load reads a file, or a directory whose *.toml files (subdirectories
// included) are united; LoadSource reads any Source, the seam for etcd;
// Parse reads a document held in memory. An item, or a basic key, defined in
// two documents is an error naming both. Relative paths in the
// configuration resolve against Config.BaseDir, the config's own directory
// (Config.Resolve, Config.ModulePath).
//
// # Load order
//
//  1. Decode. Each document is parsed; the included storages' TOML is merged
//     into the servers, locations and upstreams that name them (storage keys
//     win); then every table is decoded strictly. An unknown key is an error
//     with its dotted path and the nearest valid key:
//     `locations.api.upsteram: unknown key "upsteram" (did you mean "upstream"?)`.
//     Pingap keys that mean nothing in Go (basic.work_stealing,
//     servers.threads, ...) load with a Warning saying why. In [plugins.X]
//     only category, wasm, fail_policy, step and remark are the host's;
//     every other key goes, with its TOML type, into Plugin.Params.
//  2. Defaults. ApplyDefaults fills what the field comments promise and
//     lower-cases the case-insensitive values, so a loaded Config is
//     complete: its users never apply defaults of their own.
//  3. Validate. Every problem is collected, not just the first: syntax of
//     addresses, regexes, rewrites, headers, health-check URLs, algorithms
//     and versions; ranges; and the references between items. The error is
//     an Errors, a list of *Error each with a Path and a Msg, one per line
//     when printed. A value that failed to decode is not complained about
//     again, and a document that is not valid TOML stops this step, since
//     the items it meant to define are unknown.
//
// Load returns the Config only when there is no error, so a bad
// configuration never becomes the running one.
//
// # What it does not do
//
// It compiles nothing for run time: no route tables, compiled regexes, TLS
// configs or transports; the packages that own those build them from the
// structs, with the small parsers exported here (ParseUpstreamAddr,
// ParseHealthCheck, ParseAlgo, ParseHeader) so that they read the syntax
// exactly as validation did. It does no I/O besides reading the config
// documents and checking that certificate files exist: it does not resolve
// host names, open ports, read certificates or load plugin modules. It does
// not watch for changes or reload. It does not check access-log templates
// (host/accesslog does), TLS cipher names (host/tlsx) or plugin parameters
// (each plugin, when configured).
package config
