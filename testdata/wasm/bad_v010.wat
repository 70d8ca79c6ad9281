;; bad_v010.wat: a module sluice must refuse at load: it speaks the legacy ABI 0.1.0.
(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_1_0")) (func (export "malloc") (param i32) (result i32) (i32.const 0)))
