package collateral

// MaxItemSize bounds any one collateral item, from a file, the cache or the
// network. The largest real items (TDX TCB info, CRLs) are tens of
// kilobytes; the bound keeps a hostile bundle, cache directory or server
// from exhausting memory.
const MaxItemSize = 4 << 20
