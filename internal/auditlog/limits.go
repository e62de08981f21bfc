package auditlog

// MaxLine bounds one line, newline included, in bytes. Verify (and so
// Open) refuses a longer line, and Append refuses to write one
// (ErrTooLarge) rather than write a line the reader cannot read back: that
// would stop the log verifying and its service from restarting. Real
// entries are a few KiB; attestd's largest, a refused multi-part request
// with every reason, stays well under this.
const MaxLine = 1 << 20
