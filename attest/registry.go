package attest

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// Registry dispatches evidence to the verifier of its format. It is built
// once and read concurrently; it has no mutating methods after New.
type Registry struct {
	verifiers map[string]Verifier
}

// NewRegistry returns a registry of the given verifiers. Registering two
// verifiers for one format is a programming error and panics.
func NewRegistry(vs ...Verifier) *Registry {
	r := &Registry{verifiers: make(map[string]Verifier, len(vs))}
	for _, v := range vs {
		f := v.Format()
		if _, dup := r.verifiers[f]; dup {
			panic("attest: duplicate verifier for format " + f)
		}
		r.verifiers[f] = v
	}
	return r
}

// Formats lists the registered formats, sorted.
func (r *Registry) Formats() []string {
	out := make([]string, 0, len(r.verifiers))
	for f := range r.verifiers {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Verifier returns the verifier for format, if any.
func (r *Registry) Verifier(format string) (Verifier, bool) {
	v, ok := r.verifiers[format]
	return v, ok
}

// Verify verifies ev with the verifier registered for its format, and checks
// that the claims it returns name that format.
func (r *Registry) Verify(ctx context.Context, ev Evidence, opts Options) (*Claims, error) {
	v, ok := r.verifiers[ev.Format]
	if !ok {
		return nil, fmt.Errorf("attest: %w: %q", ErrUnsupportedFormat, ev.Format)
	}
	c, err := v.Verify(ctx, ev, opts)
	if err != nil {
		return nil, err
	}
	// A verifier bug must never hand out claims that could be mistaken for
	// another format's or TEE's (sim passing as hardware).
	if c == nil {
		return nil, fmt.Errorf("attest: %w: verifier for %q returned no claims", ErrMalformed, ev.Format)
	}
	if c.Format != ev.Format || !slices.Contains(formatTEEs[ev.Format], c.TEE) {
		return nil, fmt.Errorf("attest: %w: verifier for %q returned claims for %q/%v", ErrMalformed, ev.Format, c.Format, c.TEE)
	}
	return c, nil
}

// formatTEEs lists the TEEs each format's claims may name. Azure
// Attestation relays other TEEs' evidence; every other format is one TEE.
var formatTEEs = map[string][]TEE{
	FormatSim:    {TEESim},
	FormatSEVSNP: {TEESEVSNP},
	FormatTDX:    {TEETDX},
	FormatSGX:    {TEESGX},
	FormatTPM:    {TEETPM},
	FormatNVGPU:  {TEENVGPU},
	FormatMAA:    {TEESEVSNP, TEETDX, TEESGX},
}
