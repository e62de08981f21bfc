package tpm

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/cofre-cc/cofre/attest"
	"github.com/google/go-eventlog/tcg"
	pb "github.com/google/go-tpm-tools/proto/attest"
	tpmpb "github.com/google/go-tpm-tools/proto/tpm"
	"github.com/google/go-tpm/legacy/tpm2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// payload is a tpm.gotpmtools payload after parsing: every structure decoded
// and checked for consistency, nothing verified. Its fields are untrusted
// until Verify has checked the AK certificate and the quote signature.
type payload struct {
	att *pb.Attestation

	// akPub is the key in the attestation's AK public area (TPMT_PUBLIC).
	akPub crypto.PublicKey
	// akCert is the AK certificate, nil if the attestation has none.
	akCert *x509.Certificate
	// intermediates are the certificates the attestation offers for building
	// the AK certificate's chain.
	intermediates []*x509.Certificate

	// quotes holds one parsed quote per PCR bank, in the attestation's order.
	quotes []quote
	// extraData is the quotes' common extraData: the nonce the TPM signed.
	extraData []byte

	// eventLog is the parsed TCG PC Client event log, nil if the attestation
	// has none.
	eventLog *tcg.EventLog

	// tee names the secondary TEE evidence the attestation carries ("sevsnp",
	// "tdx") or is empty.
	tee string
}

// quote is one TPM2_Quote with its PCR values.
type quote struct {
	pb *tpmpb.Quote
	// bank is the hash algorithm of the quoted PCRs.
	bank tpm2.Algorithm
	// info is the decoded TPMS_ATTEST the AK signed.
	info *tpm2.AttestationData
	// sigHash is the hash the AK signature (and so the TPM's pcrDigest) uses.
	sigHash crypto.Hash
}

// pcrBanks are the PCR banks a quote may cover, with their digest sizes.
var pcrBanks = map[tpm2.Algorithm]crypto.Hash{
	tpm2.AlgSHA1:   crypto.SHA1,
	tpm2.AlgSHA256: crypto.SHA256,
	tpm2.AlgSHA384: crypto.SHA384,
	tpm2.AlgSHA512: crypto.SHA512,
}

// signatureHashes are the hashes go-tpm-tools' quote.Verify accepts for the AK
// signature (it refuses SHA-1 signatures).
var signatureHashes = map[tpm2.Algorithm]crypto.Hash{
	tpm2.AlgSHA256: crypto.SHA256,
	tpm2.AlgSHA384: crypto.SHA384,
	tpm2.AlgSHA512: crypto.SHA512,
}

// parsePayload decodes a serialized go-tpm-tools Attestation and checks that
// its parts are well formed and consistent with each other. It checks no
// signature and trusts nothing; every error wraps attest.ErrMalformed.
func parsePayload(b []byte) (*payload, error) {
	if len(b) == 0 {
		return nil, attest.Malformed("tpm: empty payload")
	}
	if len(b) > maxPayloadSize {
		return nil, attest.Malformed("tpm: payload is %d bytes, limit %d", len(b), maxPayloadSize)
	}
	att := &pb.Attestation{}
	if err := (proto.UnmarshalOptions{}).Unmarshal(b, att); err != nil {
		return nil, attest.Malformed("tpm: attestation protobuf: %w", err)
	}
	// Unknown fields are covered by no signature and read by no one; a
	// strict decoder makes sure what we verify is all the payload says.
	if err := checkNoUnknown(att.ProtoReflect(), "attestation"); err != nil {
		return nil, attest.Malformed("tpm: %w", err)
	}

	p := &payload{att: att}
	var err error
	if p.akPub, err = parseAKPub(att.GetAkPub()); err != nil {
		return nil, err
	}
	if len(att.GetAkCert()) > 0 {
		if p.akCert, err = parseCert(att.GetAkCert(), "ak_cert"); err != nil {
			return nil, err
		}
	}
	if n := len(att.GetIntermediateCerts()); n > maxIntermediates {
		return nil, attest.Malformed("tpm: %d intermediate certificates, limit %d", n, maxIntermediates)
	}
	for i, der := range att.GetIntermediateCerts() {
		c, err := parseCert(der, fmt.Sprintf("intermediate_certs[%d]", i))
		if err != nil {
			return nil, err
		}
		p.intermediates = append(p.intermediates, c)
	}
	if err := p.parseQuotes(); err != nil {
		return nil, err
	}
	if len(att.GetEventLog()) > 0 {
		// go-tpm-tools parses the log again during verification; parsing it
		// here as well keeps "does not parse" (malformed) apart from "does
		// not replay to the quoted PCRs" (not what the TPM signed).
		el, err := tcg.ParseEventLog(att.GetEventLog(), tcg.ParseOpts{})
		if err != nil {
			return nil, attest.Malformed("tpm: event_log: %w", err)
		}
		p.eventLog = el
	}
	switch att.GetTeeAttestation().(type) {
	case *pb.Attestation_SevSnpAttestation:
		p.tee = "sevsnp"
	case *pb.Attestation_TdxAttestation:
		p.tee = "tdx"
	}
	return p, nil
}

func parseAKPub(b []byte) (crypto.PublicKey, error) {
	if len(b) == 0 {
		return nil, attest.Malformed("tpm: ak_pub is empty")
	}
	pub, err := tpm2.DecodePublic(b)
	if err != nil {
		return nil, attest.Malformed("tpm: ak_pub: %w", err)
	}
	k, err := pub.Key()
	if err != nil {
		return nil, attest.Malformed("tpm: ak_pub key: %w", err)
	}
	return k, nil
}

func parseCert(der []byte, field string) (*x509.Certificate, error) {
	if len(der) > maxCertSize {
		return nil, attest.Malformed("tpm: %s is %d bytes, limit %d", field, len(der), maxCertSize)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, attest.Malformed("tpm: %s: %w", field, err)
	}
	return c, nil
}

// parseQuotes decodes every quote and checks that it is a quote, that its
// PCR selection is exactly the PCR values supplied with it, that each bank
// appears once, and that all quotes sign the same extraData.
func (p *payload) parseQuotes() error {
	qs := p.att.GetQuotes()
	if len(qs) == 0 {
		return attest.Malformed("tpm: no quotes")
	}
	if len(qs) > maxQuotes {
		return attest.Malformed("tpm: %d quotes, limit %d", len(qs), maxQuotes)
	}
	for i, q := range qs {
		pq, err := parseQuote(q)
		if err != nil {
			return attest.Malformed("tpm: quotes[%d]: %w", i, err)
		}
		if slices.ContainsFunc(p.quotes, func(o quote) bool { return o.bank == pq.bank }) {
			return attest.Malformed("tpm: quotes[%d]: second quote over the %v bank", i, pq.bank)
		}
		if i == 0 {
			p.extraData = pq.info.ExtraData
		} else if !bytes.Equal(p.extraData, pq.info.ExtraData) {
			// go-tpm-tools quotes every bank with the one nonce; quotes
			// answering different challenges cannot be one attestation.
			return attest.Malformed("tpm: quotes[%d]: extraData differs from quotes[0]", i)
		}
		p.quotes = append(p.quotes, pq)
	}
	return nil
}

func parseQuote(q *tpmpb.Quote) (quote, error) {
	pcrs := q.GetPcrs()
	if pcrs == nil {
		return quote{}, fmt.Errorf("no pcrs")
	}
	bank := tpm2.Algorithm(pcrs.GetHash())
	h, ok := pcrBanks[bank]
	if !ok {
		return quote{}, fmt.Errorf("pcrs.hash: unsupported PCR bank %v", bank)
	}
	if len(pcrs.GetPcrs()) == 0 {
		return quote{}, fmt.Errorf("pcrs.pcrs: no PCR values")
	}
	for idx, v := range pcrs.GetPcrs() {
		if idx >= numPCRs {
			return quote{}, fmt.Errorf("pcrs.pcrs: PCR index %d, limit %d", idx, numPCRs-1)
		}
		if len(v) != h.Size() {
			return quote{}, fmt.Errorf("pcrs.pcrs[%d]: %d bytes, want %d for %v", idx, len(v), h.Size(), bank)
		}
	}

	info, err := tpm2.DecodeAttestationData(q.GetQuote())
	if err != nil {
		return quote{}, fmt.Errorf("quote: %w", err)
	}
	if info.Type != tpm2.TagAttestQuote || info.AttestedQuoteInfo == nil {
		return quote{}, fmt.Errorf("quote: TPMS_ATTEST type %#x, want TPM_ST_ATTEST_QUOTE", uint16(info.Type))
	}
	if n := len(info.ExtraData); n > maxExtraData {
		return quote{}, fmt.Errorf("quote: extraData is %d bytes, limit %d", n, maxExtraData)
	}
	sel := info.AttestedQuoteInfo.PCRSelection
	if sel.Hash != bank {
		return quote{}, fmt.Errorf("quote: selects the %v bank, pcrs.hash is %v", sel.Hash, bank)
	}
	if len(sel.PCRs) != len(pcrs.GetPcrs()) {
		return quote{}, fmt.Errorf("quote: selects %d PCRs, %d values supplied", len(sel.PCRs), len(pcrs.GetPcrs()))
	}
	for _, idx := range sel.PCRs {
		if idx < 0 || idx >= numPCRs {
			return quote{}, fmt.Errorf("quote: selects PCR %d, limit %d", idx, numPCRs-1)
		}
		if _, ok := pcrs.GetPcrs()[uint32(idx)]; !ok {
			return quote{}, fmt.Errorf("quote: selects PCR %d, no value supplied", idx)
		}
	}

	sigBuf := bytes.NewBuffer(q.GetRawSig())
	sig, err := tpm2.DecodeSignature(sigBuf)
	if err != nil {
		return quote{}, fmt.Errorf("raw_sig: %w", err)
	}
	if sigBuf.Len() != 0 {
		return quote{}, fmt.Errorf("raw_sig: %d trailing bytes", sigBuf.Len())
	}
	var sigHashAlg tpm2.Algorithm
	switch {
	case sig.Alg == tpm2.AlgRSASSA && sig.RSA != nil:
		sigHashAlg = sig.RSA.HashAlg
	case sig.Alg == tpm2.AlgECDSA && sig.ECC != nil:
		sigHashAlg = sig.ECC.HashAlg
	default:
		return quote{}, fmt.Errorf("raw_sig: signature scheme %v, want RSASSA or ECDSA", sig.Alg)
	}
	sigHash, ok := signatureHashes[sigHashAlg]
	if !ok {
		return quote{}, fmt.Errorf("raw_sig: signature hash %v, want SHA-256, SHA-384 or SHA-512", sigHashAlg)
	}
	if n := len(info.AttestedQuoteInfo.PCRDigest); n != sigHash.Size() {
		return quote{}, fmt.Errorf("quote: pcrDigest is %d bytes, want %d", n, sigHash.Size())
	}
	return quote{pb: q, bank: bank, info: info, sigHash: sigHash}, nil
}

// quote returns the quote over bank, if any.
func (p *payload) quote(bank tpm2.Algorithm) (quote, bool) {
	for _, q := range p.quotes {
		if q.bank == bank {
			return q, true
		}
	}
	return quote{}, false
}

// checkNoUnknown reports unknown fields anywhere in m.
func checkNoUnknown(m protoreflect.Message, path string) error {
	if len(m.GetUnknown()) > 0 {
		return fmt.Errorf("%s: unknown fields", path)
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := path + "." + string(fd.Name())
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = checkNoUnknown(l.Get(i).Message(), fmt.Sprintf("%s[%d]", name, i))
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				err = checkNoUnknown(mv.Message(), fmt.Sprintf("%s[%v]", name, k.Interface()))
				return err == nil
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			err = checkNoUnknown(v.Message(), name)
		}
		return err == nil
	})
	return err
}
