package quote

// MaxQuoteSize bounds a whole quote. A real version 3 quote with a PCK
// certificate chain is about 5 KiB (1,014 bytes of fixed fields, 32 bytes of
// QE authentication data, a 3.7 KiB PEM chain); the bound leaves room for
// larger certificates and longer authentication data while keeping a hostile
// payload from costing more than one small allocation. The certification
// data has its own bound, layout.MaxCertDataSize.
const MaxQuoteSize = 64 << 10
