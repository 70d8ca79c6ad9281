package sdk

import (
	"reflect"
	"strings"
	"testing"
)

func TestConfigObjects(t *testing.T) {
	type app struct {
		id        string
		deviation int
	}
	tests := []struct {
		name    string
		in      string
		want    []app
		wantN   int
		wantErr []string // each must appear in Err
	}{
		{name: "absent", in: `{}`, wantN: 0},
		{name: "two", in: `{"apps":[{"id":"a","deviation":5},{"id":"b"}]}`,
			want: []app{{"a", 5}, {"b", 60}}, wantN: 2},
		{name: "not an array", in: `{"apps":{"id":"a"}}`, wantN: 0,
			wantErr: []string{`key "apps": want an array of objects, got object`}},
		{name: "element not an object", in: `{"apps":[{"id":"a"},"b"]}`, want: []app{{"a", 60}}, wantN: 2,
			wantErr: []string{`key "apps[1]": want an object, got string "b"`}},
		{name: "element problems carry the path", in: `{"apps":[{"id":"a"},{"id":"b","deviation":"x","ip":1}]}`,
			want: []app{{"a", 60}, {"b", 60}}, wantN: 2,
			wantErr: []string{`key "apps[1].deviation": want an integer, got string "x"`, `unknown key "apps[1].ip" (did you mean "id"?)`}},
		{name: "invalid inside an element", in: `{"apps":[{"id":""}]}`, want: []app{{"", 60}}, wantN: 1,
			wantErr: []string{`key "apps[0].id": required`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []app
			n := c.Objects("apps", func(i int, item *Config) {
				a := app{id: item.String("id", ""), deviation: item.Int("deviation", 60)}
				if a.id == "" {
					item.Invalid("id", "required")
				}
				got = append(got, a)
			})
			if n != tc.wantN || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Objects = %d, %v; want %d, %v", n, got, tc.wantN, tc.want)
			}
			err = c.Err()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Errorf("Err() = %v; want nil", err)
				}
				return
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Err() = %v; want it to contain %q", err, w)
				}
			}
		})
	}
}
