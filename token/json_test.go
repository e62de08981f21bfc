package token

import (
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth)
	tooDeep := strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1)
	deepArray := `{"a":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + "}"
	tests := []struct {
		in string
		ok bool
	}{
		{`{}`, true},
		{` {"a":1,"b":[1,"x",{"c":null}],"d":{"a":true}} `, true},
		{`{"a":"x\"y","b":"\\"}`, true},
		{`{"iss":"\u00e9"}`, true},
		{deep, true},
		{`{"a":1,"a":2}`, false},
		{`{"iss":1,"\u0069ss":2}`, false},          // escaped duplicate
		{`{"iss":1,"ISS":2}`, false},               // case variant
		{`{"sub":1,"\u017fub":2}`, false},          // long s folds to s in encoding/json
		{`{"kid":1,"\u212aid":2}`, false},          // Kelvin sign folds to k
		{`{"x":{"a":1,"A":2}}`, false},             // nested
		{`{"x":[{"a":1,"a":2}]}`, false},           // in an array
		{"{\"a\":\"\xff\",\"b\":\"\xfe\"}", false}, // invalid UTF-8
		{tooDeep, false},
		{deepArray, false},
		{`[]`, false},
		{`"x"`, false},
		{`{} {}`, false},
		{`{"a":1`, false},
		{`{"a":1,}`, false},
		{``, false},
	}
	for _, tt := range tests {
		err := checkJSON([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("checkJSON(%.40q) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
