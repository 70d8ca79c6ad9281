;; bad_start.wat: a module sluice must refuse at load: it traps in _initialize.
(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "_initialize") unreachable))
