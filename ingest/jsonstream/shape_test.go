package jsonstream

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadShape(t *testing.T) {
	type set = map[string]bool
	tests := []struct {
		name string
		head string
		want Shape
	}{
		{"object", `{"a": 1, "b": [{"x": 1, "y": {"z": []}}, {"w": 2}], "c": []}`,
			Shape{Keys: set{"a": true, "b": true, "c": true}, First: map[string]set{"b": {"x": true, "y": true}, "c": {}}}},
		{"array of objects", `[{"a": [{"b": 1}]}, {"c": 2}]`,
			Shape{Array: true, Keys: set{"a": true}, First: map[string]set{"a": {"b": true}}}},
		{"cut mid-document", `{"a": 1, "b": [{"x": 1, "y": "tr`,
			Shape{Keys: set{"a": true, "b": true}, First: map[string]set{"b": {"x": true, "y": true}}}},
		{"array of scalars", `{"a": ["x", "y"]}`, Shape{Keys: set{"a": true}, First: map[string]set{}}},
		{"array of arrays", `{"a": [[1], [2]], "b": 1}`, Shape{Keys: set{"a": true, "b": true}, First: map[string]set{}}},
		{"top-level array of scalars", `[1, 2]`, Shape{Keys: set{}, First: map[string]set{}}},
		{"not JSON", "\x00garbage", Shape{Keys: set{}, First: map[string]set{}}},
		{"empty", ``, Shape{Keys: set{}, First: map[string]set{}}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, ReadShape([]byte(tt.head))); d != "" {
			t.Errorf("%s: shape (-want +got):\n%s", tt.name, d)
		}
	}
}
