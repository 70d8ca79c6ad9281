package cryptox

import (
	"testing"

	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// BenchmarkVerify measures a host call's work per algorithm, arguments
// decoded and key cached as a plugin's repeated calls find it: the native
// side of what the jwt plugin pays per new token.
//
//	go test -run '^$' -bench Verify ./host/cryptox
func BenchmarkVerify(b *testing.B) {
	keys(b, cryptoabi.HS256)
	data := []byte("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMzYwMCwianRpIjoiNDIifQ")
	for _, alg := range allAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			k, _ := keys(b, alg)
			args, err := cryptoabi.AppendVerify(nil, cryptoabi.VerifyArgs{Alg: alg, Key: k.form, Signature: k.sign(b, alg, data), Data: data})
			if err != nil {
				b.Fatal(err)
			}
			v := New(Options{})
			b.ReportAllocs()
			for b.Loop() {
				if res, err := v.VerifyCall("bench", args); err != nil || res[0] != cryptoabi.Valid {
					b.Fatalf("verify = % x, %v", res, err)
				}
			}
		})
	}
}
