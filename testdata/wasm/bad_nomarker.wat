;; bad_nomarker.wat: a module sluice must refuse at load: it exports no ABI version marker.
(module (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 0)))
