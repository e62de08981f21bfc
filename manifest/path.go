package manifest

import (
	"strconv"
	"strings"
)

// fieldPath locates a value in the document: map keys and list indices
// from the root. Kept as segments, not a string, because map keys (file
// paths) may contain dots.
type fieldPath []pathSeg

type pathSeg struct {
	key   string
	index int // -1 for a key
}

func (p fieldPath) key(k string) fieldPath {
	q := make(fieldPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, pathSeg{key: k, index: -1})
}

func (p fieldPath) at(i int) fieldPath {
	q := make(fieldPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, pathSeg{index: i})
}

// path builds a fieldPath from strings (keys) and ints (indices).
func path(segs ...any) fieldPath {
	var p fieldPath
	for _, s := range segs {
		switch s := s.(type) {
		case string:
			p = p.key(s)
		case int:
			p = p.at(s)
		default:
			panic("manifest: path segment must be a string or an int")
		}
	}
	return p
}

// String formats p as services.web.env.DB, references[0].tee, or
// files["/etc/app.conf"] for keys that are not plain words.
func (p fieldPath) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.index >= 0:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case plainKey(s.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteString("[" + strconv.Quote(s.key) + "]")
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// problems collects problems with their paths; Parse turns paths into
// lines.
type problems struct {
	list []pathProblem
}

type pathProblem struct {
	path fieldPath
	msg  string
	line int // if set, overrides the line of path
}

func (ps *problems) add(p fieldPath, msg string) {
	ps.list = append(ps.list, pathProblem{path: p, msg: msg})
}

// lines maps formatted paths to the line of their key (or list item).
type lines map[string]int

// line returns the line of p, or of its nearest ancestor in the document.
func (l lines) line(p fieldPath) int {
	for i := len(p); i > 0; i-- {
		if n, ok := l[p[:i].String()]; ok {
			return n
		}
	}
	return 0
}
