;; misbehave.wat: misbehaves on demand, by the first letter of the path after "/": t traps, l loops forever, m grabs memory until none is left, p calls proc_exit, c closes the stream; anything else adds x-ok.
;; Generated for sluice host/wasm tests; built by `make testdata`.
(module
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_close_stream" (func $proxy_close_stream (param i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))

  ;; Bump allocator: reset at the start of every callback that allocates,
  ;; since no callback keeps host results across calls.
  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then (return (i32.const 0))))))
    (local.get $p))
  (func $reset (global.set $heap (i32.const 65536)))
  ;; $itoa writes the decimal form of n at dst and returns its length.
  (func $itoa (param $dst i32) (param $n i64) (result i32)
    (local $len i32) (local $i i32) (local $neg i32) (local $t i64)
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then (local.set $neg (i32.const 1)) (local.set $n (i64.sub (i64.const 0) (local.get $n)))))
    (local.set $t (local.get $n))
    (loop $count
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $t (i64.div_u (local.get $t) (i64.const 10)))
      (br_if $count (i64.ne (local.get $t) (i64.const 0))))
    (if (local.get $neg) (then (i32.store8 (local.get $dst) (i32.const 45)) (local.set $dst (i32.add (local.get $dst) (i32.const 1)))))
    (local.set $i (local.get $len))
    (loop $digits
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digits (i32.ne (local.get $i) (i32.const 0))))
    (i32.add (local.get $len) (local.get $neg)))
  ;; $say logs "tag=n" at info level (the tests read these lines).
  (func $say (param $tag i32) (param $taglen i32) (param $n i64)
    (local $l i32)
    (memory.copy (i32.const 2048) (local.get $tag) (local.get $taglen))
    (i32.store8 (i32.add (i32.const 2048) (local.get $taglen)) (i32.const 61))
    (local.set $l (i32.add (local.get $taglen) (i32.const 1)))
    (local.set $l (i32.add (local.get $l) (call $itoa (i32.add (i32.const 2048) (local.get $l)) (local.get $n))))
    (drop (call $proxy_log (i32.const 2) (i32.const 2048) (local.get $l))))
  (func $report (param $tag i32) (param $taglen i32) (param $status i32)
    (call $say (local.get $tag) (local.get $taglen) (i64.extend_i32_u (local.get $status))))
  ;; $show logs "tag:" followed by the bytes the last host call returned
  ;; through the out-parameters at 16 (pointer) and 20 (length).
  (func $show (param $tag i32) (param $taglen i32)
    (local $l i32)
    (memory.copy (i32.const 4096) (local.get $tag) (local.get $taglen))
    (i32.store8 (i32.add (i32.const 4096) (local.get $taglen)) (i32.const 58))
    (local.set $l (i32.add (local.get $taglen) (i32.const 1)))
    (memory.copy (i32.add (i32.const 4096) (local.get $l)) (i32.load (i32.const 16)) (i32.load (i32.const 20)))
    (local.set $l (i32.add (local.get $l) (i32.load (i32.const 20))))
    (drop (call $proxy_log (i32.const 2) (i32.const 4096) (local.get $l))))
  (func $clear (i32.store (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 0)))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
    (local $c i32)
    (call $reset)
    (drop (call $proxy_get_header_map_value (i32.const 0) (i32.const 16384) (i32.const 5) (; ":path" ;) (i32.const 16) (i32.const 20)))
    (local.set $c (i32.load8_u (i32.add (i32.load (i32.const 16)) (i32.const 1))))
    (if (i32.eq (local.get $c) (i32.const 116)) (then unreachable))          ;; t
    (if (i32.eq (local.get $c) (i32.const 108)) (then (loop $forever (br $forever)))) ;; l
    (if (i32.eq (local.get $c) (i32.const 109)) (then                         ;; m
      (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 64)) (i32.const -1))))
      unreachable))
    (if (i32.eq (local.get $c) (i32.const 112)) (then (call $proc_exit (i32.const 3)))) ;; p
    (if (i32.eq (local.get $c) (i32.const 99)) (then                          ;; c
      (drop (call $proxy_close_stream (i32.const 0)))
      (return (i32.const 0))))
    (drop (call $proxy_add_header_map_value (i32.const 0) (i32.const 16392) (i32.const 4) (; "x-ok" ;) (i32.const 16400) (i32.const 1) (; "1" ;)))
    (i32.const 0))
  (data (i32.const 16384) ":path")
  (data (i32.const 16392) "x-ok")
  (data (i32.const 16400) "1")
)
