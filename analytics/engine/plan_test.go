package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParsePlan(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plan       string
		cols       map[string][]string
		arrowScans int
		wantErr    bool
	}{
		{"seq scan list", `[{"name":"SEQ_SCAN ","children":[],"extra_info":{"Table":"\"temp\".main.Taxi","Projections":["a","b"]}}]`,
			map[string][]string{"taxi": {"a", "b"}}, 0, false},
		{"seq scan one", `[{"name":"X","children":[{"name":"SEQ_SCAN","extra_info":{"Table":"t","Projections":"a,b"}}]}]`,
			map[string][]string{"t": {"a,b"}}, 0, false},
		{"seq scan none", `[{"name":"SEQ_SCAN","extra_info":{"Table":"t","Projections":""}}]`,
			map[string][]string{"t": nil}, 0, false},
		{"arrow scans", `[{"name":"ARROW_SCAN","extra_info":{"Projections":"a"}},{"name":"ARROW_SCAN"}]`, map[string][]string{}, 2, false},
		{"arrow scan with filter", `[{"name":"ARROW_SCAN","extra_info":{"Filters":"a>3"}}]`, nil, 0, true},
		{"arrow scan with optional filter", `[{"name":"ARROW_SCAN","extra_info":{"Filters":"optional: Dynamic Filter (a)"}}]`, map[string][]string{}, 1, false},
		{"optional and required filters", `[{"name":"ARROW_SCAN","extra_info":{"Filters":["optional: Dynamic Filter (a)","b=1"]}}]`, nil, 0, true},
		{"optional then required, one string", `[{"name":"ARROW_SCAN","extra_info":{"Filters":"optional: x\nb=1"}}]`, nil, 0, true},
		{"filters not a string", `[{"name":"ARROW_SCAN","extra_info":{"Filters":3}}]`, nil, 0, true},
		{"other table reader", `[{"name":"INDEX_SCAN","extra_info":{"Table":"t"}}]`, nil, 0, true},
		{"bad projections", `[{"name":"SEQ_SCAN","extra_info":{"Table":"t","Projections":3}}]`, nil, 0, true},
		{"not json", `nope`, nil, 0, true},
	} {
		uses, n, err := parsePlan([]byte(tc.plan))
		if tc.wantErr {
			if !errors.Is(err, errPlan) {
				t.Errorf("%s: got %v, want errPlan", tc.name, err)
			}
			continue
		}
		if err != nil || n != tc.arrowScans || len(uses) != len(tc.cols) {
			t.Errorf("%s: got %v %d %v", tc.name, uses, n, err)
			continue
		}
		for table, want := range tc.cols {
			var got []string
			for c := range uses[table].cols {
				got = append(got, c)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s: got %v, want %v", tc.name, table, got, want)
			}
		}
	}
}

func TestColumnsFor(t *testing.T) {
	ti := &tableInfo{t: Table{Name: "t"}, schema: arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "Bee", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})},
	}, nil), rowCounts: [][]int64{{1, 2}, {3}}}
	for _, tc := range []struct {
		names []string
		want  []int
		err   bool
	}{
		{nil, nil, false},
		{[]string{"bee", "a"}, []int{0, 1}, false},
		{[]string{"s.x"}, []int{2}, false},
		{[]string{"zz"}, nil, true},
	} {
		m := map[string]bool{}
		for _, n := range tc.names {
			m[n] = true
		}
		got, err := columnsFor(ti, m)
		if (err != nil) != tc.err || (tc.err && !errors.Is(err, errPlan)) || !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v %v, want %v", tc.names, got, err, tc.want)
		}
	}
	if n := ti.rowGroupCount(); n != 3 {
		t.Errorf("rowGroupCount = %d, want 3", n)
	}
}

func TestCheckSingleSelect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"error":false,"statements":[{}]}`, nil},
		{`{"error":false,"statements":[{},{}]}`, ErrInvalidQuery},
		{`{"error":false,"statements":[]}`, ErrInvalidQuery},
		{`{"error":true,"error_message":"Only SELECT statements can be serialized to json!"}`, ErrInvalidQuery},
		{`garbage`, ErrInvalidQuery},
	} {
		if err := checkSingleSelect([]byte(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.in, err, tc.want)
		}
	}
	if err := checkSQLSize(strings.Repeat("x", maxSQLBytes+1)); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("oversized SQL: got %v", err)
	}
	if err := checkSQLSize("SELECT 1"); err != nil {
		t.Errorf("small SQL: %v", err)
	}
}
