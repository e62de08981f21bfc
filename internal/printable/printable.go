// Package printable makes text from an untrusted peer (an error message
// a server sent) safe to print: no terminal escapes, bounded length.
package printable

import (
	"strings"
	"unicode"
)

// Text drops control and non-printing characters (terminal escapes from
// a hostile peer) and cuts s to at most max bytes, marking the cut.
func Text(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) && r != ' ' {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return strings.TrimSpace(s)
}
