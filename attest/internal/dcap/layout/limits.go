package layout

// MaxCertDataSize bounds the nested certification data (the PEM PCK chain).
// Three PEM certificates (PCK leaf, PCK CA, root) take under 4 KiB; 32 KiB
// allows for growth without letting certification data be used to make the
// verifier parse large inputs.
const MaxCertDataSize = 32 << 10

// MaxChainLength is the number of certificates in certification data type
// 5: the PCK leaf, its issuing CA and the root. Longer chains are refused
// rather than searched.
const MaxChainLength = 3
