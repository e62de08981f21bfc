package appraise

// maxPolicySize bounds a policy document. Real ones are a few kilobytes;
// the bound keeps a hostile upload from making the YAML decoder build a
// huge tree.
const maxPolicySize = 1 << 20
