package store

import "errors"

var (
	// ErrNotFound means the key (or, for Unlock, the namespace) does not
	// exist.
	ErrNotFound = errors.New("store: not found")
	// ErrLocked means the namespace's key has not been given to the store.
	ErrLocked = errors.New("store: namespace is locked")
	// ErrWrongKey means Unlock was given a key that does not open the
	// namespace's key-check record (or the record was altered).
	ErrWrongKey = errors.New("store: wrong namespace key")
	// ErrTampered means a sealed value does not open under its namespace
	// key and its place (namespace, table, key): it was changed or moved
	// by whoever holds the file.
	ErrTampered = errors.New("store: value tampered with")
	// ErrExists means CreateNamespace found the namespace already there.
	ErrExists = errors.New("store: namespace exists")
	// ErrInvalid means a namespace, table or key name, a key, or a value
	// is outside what the store accepts (see limits.go).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrFormat means the file is not a cofre store of a known format
	// version.
	ErrFormat = errors.New("store: unknown file format")
)
