package hostcall

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
)

// wasmType maps the Go parameter types used by the wasm files to wasm value
// types.
var wasmType = map[string]abi.ValType{
	"uint32": abi.I32, "int32": abi.I32, "unsafe.Pointer": abi.I32,
	"*uint32": abi.I32, "*uint64": abi.I32, "int64": abi.I64,
	"abi.LogLevel": abi.I32, "abi.BufferType": abi.I32, "abi.MapType": abi.I32,
	"abi.StreamType": abi.I32, "abi.MetricType": abi.I32, "abi.Status": abi.I32,
	"abi.Action": abi.I32,
}

type directive struct {
	name string
	sig  abi.Signature
}

// directives parses file and returns the functions carrying the given
// directive ("go:wasmimport" or "go:wasmexport") with their wasm signatures.
func directives(t *testing.T, file, kind string) []directive {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	var out []directive
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Doc == nil {
			continue
		}
		for _, c := range fd.Doc.List {
			fields := strings.Fields(strings.TrimPrefix(c.Text, "//"))
			if len(fields) == 0 || fields[0] != kind {
				continue
			}
			name := fields[len(fields)-1]
			if kind == "go:wasmimport" && (len(fields) != 3 || fields[1] != abi.ModuleEnv) {
				t.Errorf("%s: %s imports from %v; want module %q", file, fd.Name.Name, fields[1:], abi.ModuleEnv)
			}
			out = append(out, directive{name: name, sig: signature(t, fd)})
		}
	}
	return out
}

func signature(t *testing.T, fd *ast.FuncDecl) abi.Signature {
	t.Helper()
	var sig abi.Signature
	conv := func(list *ast.FieldList, dst *[]abi.ValType) {
		if list == nil {
			return
		}
		for _, field := range list.List {
			name := types(field.Type)
			vt, ok := wasmType[name]
			if !ok {
				t.Fatalf("%s: parameter type %s has no wasm mapping in this test", fd.Name.Name, name)
			}
			n := len(field.Names)
			if n == 0 {
				n = 1
			}
			for range n {
				*dst = append(*dst, vt)
			}
		}
	}
	conv(fd.Type.Params, &sig.Params)
	conv(fd.Type.Results, &sig.Results)
	return sig
}

func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return types(e.X) + "." + e.Sel.Name
	case *ast.StarExpr:
		return "*" + types(e.X)
	}
	return "?"
}

// TestImportSignatures checks every go:wasmimport against abi.HostFunctions,
// so that the SDK never declares an ABI name or signature of its own.
func TestImportSignatures(t *testing.T) {
	imports := directives(t, "imports_wasm.go", "go:wasmimport")
	if len(imports) == 0 {
		t.Fatal("no go:wasmimport directives found")
	}
	seen := map[string]bool{}
	for _, d := range imports {
		t.Run(d.name, func(t *testing.T) {
			want, ok := abi.Lookup(abi.HostFunctions, d.name)
			if !ok {
				t.Fatalf("%s is not in abi.HostFunctions", d.name)
			}
			if !d.sig.Equal(want.Signature) {
				t.Errorf("signature %s; abi says %s", d.sig, want.Signature)
			}
			seen[d.name] = true
		})
	}
	// The SDK covers every host function except the gRPC ones, which abi
	// leaves out of HostFunctions.
	for _, f := range abi.HostFunctions {
		if !seen[f.Name] {
			t.Errorf("host function %s has no go:wasmimport", f.Name)
		}
	}
}

// TestExportSignatures checks every go:wasmexport against abi.Callbacks and
// the version markers.
func TestExportSignatures(t *testing.T) {
	exports := directives(t, "exports_wasm.go", "go:wasmexport")
	var names []string
	for _, d := range exports {
		names = append(names, d.name)
		t.Run(d.name, func(t *testing.T) {
			if d.name == abi.MarkerV0_2_1 {
				if !d.sig.Equal(abi.Signature{}) {
					t.Errorf("marker signature %s; want () -> ()", d.sig)
				}
				return
			}
			want, ok := abi.Lookup(abi.Callbacks, d.name)
			if !ok {
				t.Fatalf("%s is not in abi.Callbacks", d.name)
			}
			if !d.sig.Equal(want.Signature) {
				t.Errorf("signature %s; abi says %s", d.sig, want.Signature)
			}
		})
	}
	want := []string{
		abi.MarkerV0_2_1, abi.FuncOnMemoryAllocate, abi.CallbackOnContextCreate,
		abi.CallbackOnVMStart, abi.CallbackOnConfigure, abi.CallbackOnTick,
		abi.CallbackOnQueueReady, abi.CallbackOnRequestHeaders, abi.CallbackOnRequestBody,
		abi.CallbackOnRequestTrailers, abi.CallbackOnResponseHeaders, abi.CallbackOnResponseBody,
		abi.CallbackOnResponseTrailers, abi.CallbackOnHTTPCallResponse, abi.CallbackOnLog,
		abi.CallbackOnDone, abi.CallbackOnDelete, abi.CallbackStreamCallbacks,
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("exports\n got %v\nwant %v", names, want)
	}
}
