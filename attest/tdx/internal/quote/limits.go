package quote

// MaxSize bounds a quote, trailing bytes included. A real quote is about
// 5 KB: 632 bytes of header and body, 138 of signature, key and
// certification header, 448 of QE report and signature, 34 of QE
// authentication data and a PCK chain of three P-256 certificates in PEM
// (about 3.7 KB). 64 KiB admits the largest QE authentication data the
// 16-bit length allows plus a generous chain, and a quote buffer padded to
// a few pages, while keeping a hostile payload from making the parser copy
// megabytes.
const MaxSize = 64 << 10
