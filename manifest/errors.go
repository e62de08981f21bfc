package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every *Error: the document is not a valid
// manifest.
var ErrInvalid = errors.New("invalid manifest")

// Error is a refused manifest: every problem found, sorted by line.
type Error struct {
	// File is the name given to Parse (a file name, or "manifest" for an
	// upload).
	File     string
	Problems []Problem
}

// Problem is one reason a manifest is refused.
type Problem struct {
	// Line is the 1-based line of the offending key or value, or of its
	// nearest enclosing entry if it is missing. 0 if unknown (Validate on a
	// Manifest that was not parsed).
	Line int
	// Field is the path of the offending field: services.web.env.DB,
	// packages.app.references[0].tee, services.web.files["/etc/app.conf"].
	// Empty for problems of the whole document.
	Field   string
	Message string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
		b.WriteString(p.String())
	}
	if len(e.Problems) == 0 {
		b.WriteString(e.File + ": " + ErrInvalid.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Signature and update refusals.
var (
	// ErrThreshold: fewer distinct owners signed than the threshold needs.
	// Returned as a *ThresholdError.
	ErrThreshold = errors.New("too few owner signatures")
	// ErrUnknownOwner: a signature names an owner the manifest does not list.
	ErrUnknownOwner = errors.New("unknown owner")
	// ErrBadSignature: a signature does not verify under its owner's key.
	ErrBadSignature = errors.New("bad signature")
	// ErrStalePredecessor: an update names a predecessor other than the
	// current manifest (it was written against an older one: a lost update).
	ErrStalePredecessor = errors.New("stale predecessor")
	// ErrVersion: an update's version is not its predecessor's plus one, or
	// a first manifest is not version 1.
	ErrVersion = errors.New("wrong version")
	// ErrNameChanged: an update renames the manifest.
	ErrNameChanged = errors.New("manifest name changed")
	// ErrKeyType: a signing key is neither ECDSA P-256/P-384 nor Ed25519.
	ErrKeyType = errors.New("unsupported key type")
	// ErrSignatureFile: a signature file is malformed.
	ErrSignatureFile = errors.New("invalid signature file")
)

// ThresholdError reports too few valid owner signatures.
type ThresholdError struct {
	Have, Need int
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("manifest: %v: %d distinct owners signed, %d needed", ErrThreshold, e.Have, e.Need)
}

func (e *ThresholdError) Unwrap() error { return ErrThreshold }

// SignatureError names the owner whose signature was refused (never the
// key or the signature bytes).
type SignatureError struct {
	Owner string
	Err   error // ErrUnknownOwner or ErrBadSignature
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("manifest: owner %q: %v", e.Owner, e.Err)
}

func (e *SignatureError) Unwrap() error { return e.Err }

// ErrRender is wrapped by every *RenderError.
var ErrRender = errors.New("cannot render")

// RenderError is a template that could not be rendered. It names the
// service and the field; never a secret's value.
type RenderError struct {
	Service string
	Field   string // command[0], env.DB_URL, files["/etc/app.conf"]
	Err     error
}

func (e *RenderError) Error() string {
	return fmt.Sprintf("manifest: service %q: %s: %v", e.Service, e.Field, e.Err)
}

// Unwrap returns ErrRender and the cause.
func (e *RenderError) Unwrap() []error { return []error{ErrRender, e.Err} }
