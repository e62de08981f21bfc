package manifest

import (
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/cofre-cc/cofre/appraise"
)

// Parse decodes a manifest (YAML or JSON) strictly and validates it. name
// is the document's file name, used only in errors. On refusal the error
// is an *Error (wrapping ErrInvalid) listing every problem found, each with
// its line and field, sorted by line.
//
// Parse does not render templates (call DryRun) and does not check
// signatures or the hash chain (VerifyInitial, VerifyUpdate).
func Parse(name string, doc []byte) (*Manifest, error) {
	if len(doc) > maxDocumentSize {
		return nil, &Error{File: name, Problems: []Problem{{Message: fmt.Sprintf("document is %d bytes, limit %d", len(doc), maxDocumentSize)}}}
	}
	root, pp := parseYAML(doc)
	if pp != nil {
		line, msg := syntaxLine(pp.msg)
		return nil, &Error{File: name, Problems: []Problem{{Line: line, Message: msg}}}
	}
	d := &decoder{lines: lines{}}
	var m Manifest
	d.decode(root, &m)
	decodeProblems := d.problems.list

	// Validate even after decoding problems, so the author sees every
	// problem at once, but drop what follows from a value that did not
	// decode (its zero value would be reported again).
	all := slices.Clone(decodeProblems)
	for _, vp := range m.check().list {
		if !slices.ContainsFunc(decodeProblems, func(dp pathProblem) bool { return hasPrefix(vp.path, dp.path) }) {
			all = append(all, vp)
		}
	}
	if len(all) == 0 {
		return &m, nil
	}
	return nil, d.lines.errorFor(name, all)
}

// hasPrefix reports whether p is q or lies under it. Everything lies
// under the root: a document that is not a mapping has nothing to check.
func hasPrefix(p, q fieldPath) bool {
	return len(p) >= len(q) && slices.Equal(p[:len(q)], q)
}

func (l lines) errorFor(name string, list []pathProblem) *Error {
	e := &Error{File: name}
	for _, p := range list {
		line := p.line
		if line == 0 {
			line = l.line(p.path)
		}
		e.Problems = append(e.Problems, Problem{Line: line, Field: p.path.String(), Message: p.msg})
	}
	slices.SortStableFunc(e.Problems, func(a, b Problem) int { return a.Line - b.Line })
	if len(e.Problems) > maxProblems {
		e.Problems = append(e.Problems[:maxProblems], Problem{Message: fmt.Sprintf("and %d more problems", len(list)-maxProblems)})
	}
	return e
}

// Hash is the SHA-256 of the exact document bytes. It is what owners sign,
// what the coordinator stores and what the next version names as its
// predecessor. Hashing the bytes, not a canonical form of the parsed
// manifest, means the signed object is the very text the owners reviewed,
// comments and formatting included, and no canonicalization code stands
// between what is signed and what is enforced; the price is that
// reformatting a manifest makes it a different manifest.
func Hash(doc []byte) [32]byte { return sha256.Sum256(doc) }

// AppraisalPolicy returns the appraisal policy of package pkg, named
// "<manifest>/<package>", with the manifest's allow_simulation and
// tolerations; nil if the manifest has no such package. The policy shares
// no memory with m.
func (m *Manifest) AppraisalPolicy(pkg string) *appraise.Policy {
	p, ok := m.Packages[pkg]
	if !ok {
		return nil
	}
	refs := make([]appraise.Reference, len(p.References))
	for i, r := range p.References {
		refs[i] = cloneReference(r)
	}
	return &appraise.Policy{
		Name:            m.Name + "/" + pkg,
		AllowSimulation: m.Attestation.AllowSimulation,
		References:      refs,
		Tolerations:     slices.Clone(m.Attestation.Tolerations),
	}
}

func cloneReference(r appraise.Reference) appraise.Reference {
	r.Formats = slices.Clone(r.Formats)
	r.Measurements = cloneHexes(r.Measurements)
	r.Signers = cloneHexes(r.Signers)
	r.ProductIDs = slices.Clone(r.ProductIDs)
	if r.MinSVN != nil {
		v := *r.MinSVN
		r.MinSVN = &v
	}
	if r.MinTCB != nil {
		m := make(map[string]uint64, len(r.MinTCB))
		for k, v := range r.MinTCB {
			m[k] = v
		}
		r.MinTCB = m
	}
	r.TCBStatuses = slices.Clone(r.TCBStatuses)
	r.PlatformIDs = cloneHexes(r.PlatformIDs)
	if r.Raw != nil {
		m := make(map[string]string, len(r.Raw))
		for k, v := range r.Raw {
			m[k] = v
		}
		r.Raw = m
	}
	return r
}

func cloneHexes[H ~[]byte](hs []H) []H {
	if hs == nil {
		return nil
	}
	out := make([]H, len(hs))
	for i, h := range hs {
		out[i] = H(slices.Clone([]byte(h)))
	}
	return out
}
