// Package appraise compares verified attestation claims with a policy's
// reference values and yields an EAR appraisal: an AR4SI trust tier, a
// trustworthiness vector, and a reason for every check that did not pass,
// naming the field, the expected and the actual value.
//
// It decides whether genuine evidence is acceptable; whether evidence is
// genuine is package attest's job, and appraise trusts the claims it is
// given. It does not check the report-data binding (the caller knows the
// nonce and key: attest.CheckBinding).
//
// Rules that hold whatever the policy says:
//   - simulated claims are refused unless the policy sets allow_simulation,
//     and are never rated above "warning";
//   - a toleration never excuses an unknown measurement, signer or TEE, and
//     stops applying at its expiry date.
package appraise
