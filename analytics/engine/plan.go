package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// tableUse is what a query plan needs from one table.
type tableUse struct {
	scans int             // number of scan operators reading the table
	cols  map[string]bool // column names, as printed in the plan
}

// planNode is one operator of DuckDB's EXPLAIN (FORMAT JSON) output.
type planNode struct {
	Name      string                     `json:"name"`
	Children  []planNode                 `json:"children"`
	ExtraInfo map[string]json.RawMessage `json:"extra_info"`
}

var errPlan = errors.New("unexpected plan")

// parsePlan reads the JSON physical plan DuckDB prints for EXPLAIN
// (FORMAT JSON) and returns, per table (lower-cased name), the columns its
// scans project, and the number of Arrow scan operators. The planning
// database has filter pushdown disabled, so filter columns appear in the
// scan projections too. Anything unexpected is an error: a column missed
// here would make the real query fail to bind, never return wrong rows.
func parsePlan(b []byte) (map[string]*tableUse, int, error) {
	if len(b) > maxPlanBytes {
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", errPlan, len(b), maxPlanBytes)
	}
	var roots []planNode
	if err := json.Unmarshal(b, &roots); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errPlan, err)
	}
	uses := map[string]*tableUse{}
	arrowScans := 0
	var walk func(n *planNode, depth int) error
	walk = func(n *planNode, depth int) error {
		if depth > 10000 {
			return fmt.Errorf("%w: too deep", errPlan)
		}
		name := strings.TrimSpace(n.Name)
		if name == "ARROW_SCAN" {
			arrowScans++
			// duckdb_arrow_scan's producer ignores pushed-down filters and
			// DuckDB then does not apply them either: a filter in an Arrow
			// scan would return unfiltered rows. Filter pushdown is off in
			// the query database; refuse a plan that has one anyway.
			//
			// Filters DuckDB marks "optional:" (the dynamic filters an
			// ORDER BY … LIMIT pushes down) may be ignored by design: the
			// operator that made them still applies its own condition.
			if raw, ok := n.ExtraInfo["Filters"]; ok {
				optional, err := onlyOptionalFilters(raw)
				if err != nil {
					return err
				}
				if !optional {
					return fmt.Errorf("%w: filter pushed into an arrow scan", errPlan)
				}
			}
		}
		if raw, ok := n.ExtraInfo["Table"]; ok {
			if name != "SEQ_SCAN" {
				return fmt.Errorf("%w: operator %q reads a table", errPlan, name)
			}
			var qualified string
			if err := json.Unmarshal(raw, &qualified); err != nil {
				return fmt.Errorf("%w: table: %w", errPlan, err)
			}
			table := qualified[strings.LastIndex(qualified, ".")+1:]
			table = strings.ToLower(strings.Trim(table, `"`))
			cols, err := projections(n.ExtraInfo["Projections"])
			if err != nil {
				return err
			}
			u := uses[table]
			if u == nil {
				u = &tableUse{cols: map[string]bool{}}
				uses[table] = u
			}
			u.scans++
			for _, c := range cols {
				u.cols[c] = true
			}
		}
		for i := range n.Children {
			if err := walk(&n.Children[i], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range roots {
		if err := walk(&roots[i], 0); err != nil {
			return nil, 0, err
		}
	}
	return uses, arrowScans, nil
}

// projections decodes a scan's "Projections": absent or "" (no column), a
// string (one column) or an array of strings.
func projections(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("%w: projections: %w", errPlan, err)
	}
	return many, nil
}

// columnsFor maps the plan's column names to indices into ti.schema, in
// ascending order. Names are matched exactly, then case-insensitively (as
// DuckDB resolves them); a struct field access prints as "col.field" and
// maps to col.
func columnsFor(ti *tableInfo, names map[string]bool) ([]int, error) {
	want := make([]bool, ti.schema.NumFields())
	for name := range names {
		idx := findColumn(ti, name)
		if idx < 0 {
			if dot := strings.IndexByte(name, '.'); dot > 0 {
				idx = findColumn(ti, name[:dot])
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("%w: plan names column %q not in table %s", errPlan, name, ti.t.Name)
		}
		want[idx] = true
	}
	var cols []int
	for i, w := range want {
		if w {
			cols = append(cols, i)
		}
	}
	return cols, nil
}

func findColumn(ti *tableInfo, name string) int {
	if idx := ti.schema.FieldIndices(name); len(idx) == 1 {
		return idx[0]
	}
	for i, f := range ti.schema.Fields() {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// statementResult is DuckDB's json_serialize_sql output, reduced to what
// tells us how many SELECT statements the text holds.
type statementResult struct {
	Error        bool              `json:"error"`
	ErrorMessage string            `json:"error_message"`
	Statements   []json.RawMessage `json:"statements"`
}

// checkSingleSelect accepts json_serialize_sql output that holds exactly
// one statement. json_serialize_sql refuses anything but SELECT, so SQL
// cannot create, attach, set or copy anything.
func checkSingleSelect(b []byte) error {
	var r statementResult
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%w: parse: %w", ErrInvalidQuery, err)
	}
	if r.Error {
		return fmt.Errorf("%w: %s", ErrInvalidQuery, r.ErrorMessage)
	}
	if len(r.Statements) != 1 {
		return fmt.Errorf("%w: want exactly one SELECT statement, got %d statements", ErrInvalidQuery, len(r.Statements))
	}
	return nil
}

func checkSQLSize(sql string) error {
	if len(sql) > maxSQLBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidQuery, len(sql), maxSQLBytes)
	}
	return nil
}

// onlyOptionalFilters reports whether a scan's "Filters" (a string, or a
// list of strings, one per filter) holds only optional filters.
func onlyOptionalFilters(raw json.RawMessage) (bool, error) {
	var list []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		list = strings.Split(one, "\n")
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return false, fmt.Errorf("%w: filters: %w", errPlan, err)
	}
	for _, f := range list {
		if f = strings.TrimSpace(f); f != "" && !strings.HasPrefix(f, "optional:") {
			return false, nil
		}
	}
	return true, nil
}
