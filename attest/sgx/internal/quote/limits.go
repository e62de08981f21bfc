package quote

// MaxQuoteSize bounds a whole quote. A real version 3 quote with a PCK
// certificate chain is about 5 KiB (1,014 bytes of fixed fields, 32 bytes of
// QE authentication data, a 3.7 KiB PEM chain); the bound leaves room for
// larger certificates and longer authentication data while keeping a hostile
// payload from costing more than one small allocation.
const MaxQuoteSize = 64 << 10

// MaxCertDataSize bounds the certification data. Three PEM certificates
// (PCK leaf, PCK CA, root) take under 4 KiB; 32 KiB allows for growth without
// letting certification data be used to make the verifier parse large inputs.
const MaxCertDataSize = 32 << 10

// MaxChainLength is the number of certificates in certification data type
// 5: the PCK leaf, its issuing CA and the root. Longer chains are refused
// rather than searched.
const MaxChainLength = 3
