package tpm

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"

	"github.com/cofre-cc/cofre/attest"
	pb "github.com/google/go-tpm-tools/proto/attest"
)

// newClaims builds the claims of a verified attestation from its SHA-256
// quote q, the machine state go-tpm-tools extracted from the replayed event
// log, and the GCE instance information of the (verified) AK certificate.
func newClaims(p *payload, q quote, ms *pb.MachineState, instance *pb.GCEInstanceInfo) *attest.Claims {
	pcrs := q.pb.GetPcrs().GetPcrs()
	leaf := p.akCert
	akCertHash := sha256.Sum256(leaf.Raw)
	akKeyHash := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)

	c := &attest.Claims{
		Format: attest.FormatTPM,
		TEE:    attest.TEETPM,
		// Over the SHA-256 bank whatever the AK's signature hash, so the
		// value depends only on the PCRs.
		Measurement: attest.Hex(pcrDigest(pcrs, crypto.SHA256)),
		ReportData:  attest.Hex(slices.Clone(p.extraData)),
		PlatformID:  attest.Hex(akKeyHash[:]),
		TCBStatus:   attest.TCBUnevaluated,
		Debug:       false,
	}

	sel := make([]int, 0, len(pcrs))
	values := make(map[string]attest.Hex, len(pcrs))
	for idx, v := range pcrs {
		sel = append(sel, int(idx))
		values[strconv.Itoa(int(idx))] = attest.Hex(slices.Clone(v))
	}
	slices.Sort(sel)
	raw := map[string]any{
		"pcr_bank":        "sha256",
		"pcr_selection":   sel,
		"pcrs":            values,
		"ak_cert_subject": leaf.Subject.String(),
		"ak_cert_issuer":  leaf.Issuer.String(),
		"ak_cert_serial":  leaf.SerialNumber.Text(16),
		"ak_cert_sha256":  attest.Hex(akCertHash[:]),
	}
	c.Raw = raw

	if instance != nil {
		// Decimal strings: instance IDs exceed 2^53 and would lose
		// precision as JSON numbers in JavaScript relying parties.
		raw["gce_instance"] = map[string]string{
			"zone":           instance.GetZone(),
			"project_id":     instance.GetProjectId(),
			"project_number": strconv.FormatUint(instance.GetProjectNumber(), 10),
			"instance_name":  instance.GetInstanceName(),
			"instance_id":    strconv.FormatUint(instance.GetInstanceId(), 10),
		}
	}
	if p.eventLog == nil {
		// go-tpm-tools still returns a (default) state for an empty log,
		// such as Secure Boot "disabled"; none of it was measured.
		ms = nil
		c.Warn("no event log: only PCR values are attested, no machine state was extracted")
	}
	if pl := ms.GetPlatform(); pl != nil {
		raw["gce_technology"] = pl.GetTechnology().String()
		switch fw := pl.GetFirmware().(type) {
		case *pb.PlatformState_GceVersion:
			raw["gce_firmware_version"] = fw.GceVersion
			c.TCB = map[string]uint64{"gce_firmware": uint64(fw.GceVersion)}
		case *pb.PlatformState_ScrtmVersionId:
			raw["scrtm_version_id"] = attest.Hex(slices.Clone(fw.ScrtmVersionId))
		}
	}
	if sb := ms.GetSecureBoot(); sb != nil {
		raw["secure_boot"] = map[string]any{
			"enabled": sb.GetEnabled(),
			"pk":      database(sb.GetPk()),
			"kek":     database(sb.GetKek()),
			"db":      database(sb.GetDb()),
			"dbx":     database(sb.GetDbx()),
		}
		if !sb.GetEnabled() {
			c.Warn("UEFI Secure Boot is disabled")
		}
	} else if ms != nil {
		c.Warn("no UEFI Secure Boot state in the event log")
	}
	if k := ms.GetLinuxKernel(); k != nil {
		raw["linux_kernel_cmdline"] = k.GetCommandLine()
	}
	if g := ms.GetGrub(); g != nil {
		var files []attest.Hex
		for _, f := range g.GetFiles() {
			files = append(files, attest.Hex(slices.Clone(f.GetDigest())))
		}
		raw["grub_file_digests"] = files
	}
	if e := ms.GetEfi(); e != nil {
		var apps []attest.Hex
		for _, a := range e.GetApps() {
			apps = append(apps, attest.Hex(slices.Clone(a.GetDigest())))
		}
		raw["efi_app_digests"] = apps
	}

	if n := len(p.extraData); n != attest.ReportDataSize {
		c.Warn("quote extraData is %d bytes, not %d: the evidence binds no cofre report data", n, attest.ReportDataSize)
	}
	if p.tee != "" {
		raw["tee_attestation_unverified"] = p.tee
		c.Warn("attestation carries %s evidence that this verifier does not check; verify it with the %s verifier", p.tee, p.tee)
	}
	if len(p.att.GetCanonicalEventLog()) > 0 {
		c.Warn("canonical (COS) event log present but not verified; container state not reported")
	}
	if len(leaf.CRLDistributionPoints) > 0 {
		c.Warn("AK certificate revocation not checked (CRL %s not fetched)", leaf.CRLDistributionPoints[0])
	}
	return c
}

// database summarizes a Secure Boot variable: its certificates, named when
// go-tpm-tools recognizes them and otherwise as "sha256:<hex of DER>", and
// the number of hashes (dbx holds hundreds; listing them would bloat tokens).
func database(d *pb.Database) map[string]any {
	certs := []string{}
	for _, c := range d.GetCerts() {
		if der := c.GetDer(); der != nil {
			h := sha256.Sum256(der)
			certs = append(certs, "sha256:"+hex.EncodeToString(h[:]))
		} else {
			certs = append(certs, c.GetWellKnown().String())
		}
	}
	return map[string]any{"certs": certs, "hashes": len(d.GetHashes())}
}
