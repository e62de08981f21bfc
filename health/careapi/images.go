package careapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Image content types, stored as the first byte of an image record.
const (
	imagePNG   byte = 1
	imageDICOM byte = 2
)

var contentTypes = map[string]byte{"image/png": imagePNG, "application/dicom": imageDICOM}

func contentTypeName(b byte) string {
	for k, v := range contentTypes {
		if v == b {
			return k
		}
	}
	return ""
}

// pngMagic starts every PNG file (PNG §5.2); a DICOM Part 10 file has a
// 128-byte preamble and then "DICM" (DICOM PS3.10 §7.1).
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

const dicomMagicOffset = 128

// checkImage checks that data looks like what contentType claims, so a
// mislabelled upload is refused here rather than by the model.
func checkImage(contentType string, data []byte) (byte, error) {
	bad := func(field, reason string) (byte, error) {
		return 0, &InvalidError{Resource: "image", Field: field, Reason: reason}
	}
	kind, ok := contentTypes[contentType]
	if !ok {
		return bad("contentType", `want "image/png" or "application/dicom"`)
	}
	switch {
	case len(data) == 0:
		return bad("data", "required")
	case len(data) > MaxImageSize:
		return bad("data", fmt.Sprintf("exceeds %d bytes", MaxImageSize))
	case kind == imagePNG && !bytes.HasPrefix(data, pngMagic):
		return bad("data", "not a PNG file")
	case kind == imageDICOM && (len(data) < dicomMagicOffset+4 || string(data[dicomMagicOffset:dicomMagicOffset+4]) != "DICM"):
		return bad("data", "not a DICOM Part 10 file")
	}
	return kind, nil
}

func (s *Server) handleUploadImage(w http.ResponseWriter, r *http.Request, u *user) {
	patient := r.PathValue("id")
	if !s.patientExists(w, r, u, "upload-image", patient) {
		return
	}
	b, err := readBody(w, r, "image", MaxImageBody, mediaJSON)
	var req struct {
		ContentType string `json:"contentType"`
		Data        []byte `json:"data"`
	}
	var kind byte
	if err == nil {
		if err = decodeStrict("image", b, &req); err == nil {
			kind, err = checkImage(req.ContentType, req.Data)
		}
	}
	if err != nil {
		if rerr := s.record(u, "upload-image", "Patient", patient, patient, outcomeInvalid); rerr != nil {
			s.internal(w, r, "audit", rerr)
			return
		}
		writeInvalid(w, err)
		return
	}
	id := uuid.NewString()
	rec := append([]byte{kind}, req.Data...)
	// The key binds the image to its patient: diagnose finds it only
	// under the same patient. The index only counts them, so that one
	// patient's images stay within MaxImagesPerPatient.
	err = s.store.addToIndex(r.Context(), keyImageIndex(patient), id, MaxImagesPerPatient, keyImage(patient, id), rec)
	if errors.Is(err, errFull) {
		s.refuseFull(w, r, u, "upload-image", "Image", patient, MaxImagesPerPatient, "images")
		return
	}
	if err != nil {
		s.internal(w, r, "store image", err)
		return
	}
	if err := s.record(u, "upload-image", "Image", id, patient, outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"imageId": id})
}

// Errors from checking a Diagnosis.
var errDiagnosis = errors.New("careapi: diagnoser returned an invalid diagnosis")

// checkDiagnosis checks what the Diagnoser returned: it comes from another
// service, and goes into a stored medical record.
func checkDiagnosis(d Diagnosis) error {
	if len(d.Labels) == 0 || len(d.Labels) > MaxLabels || len(d.Labels) != len(d.Probabilities) {
		return fmt.Errorf("%w: %d labels and %d probabilities, want 1 to %d of each", errDiagnosis, len(d.Labels), len(d.Probabilities), MaxLabels)
	}
	for i, l := range d.Labels {
		if l == "" || len(l) > MaxLabelSize || !utf8.ValidString(l) {
			return fmt.Errorf("%w: label %d is empty, too long or not UTF-8", errDiagnosis, i)
		}
		p := d.Probabilities[i]
		if math.IsNaN(float64(p)) || p < 0 || p > 1 {
			return fmt.Errorf("%w: probability %d outside [0, 1]", errDiagnosis, i)
		}
	}
	if b, err := hex.DecodeString(d.ModelSHA256); err != nil || len(b) != 32 || hex.EncodeToString(b) != d.ModelSHA256 {
		return fmt.Errorf("%w: model sha256 is not 64 lowercase hex digits", errDiagnosis)
	}
	if d.Model == "" || len(d.Model) > MaxLabelSize || !utf8.ValidString(d.Model) {
		return fmt.Errorf("%w: model name is empty, too long or not UTF-8", errDiagnosis)
	}
	return nil
}

// Extension URLs of the DiagnosticReports this server writes.
const (
	extBase        = "https://cofre.cc/fhir/StructureDefinition/"
	ExtModel       = extBase + "diagnostic-model"
	ExtModelSHA256 = extBase + "diagnostic-model-sha256"
	ExtImage       = extBase + "diagnostic-image-id"
	ExtFinding     = extBase + "diagnostic-finding"
)

func ptr[T any](v T) *T { return &v }

// newReport builds the DiagnosticReport for d: the top label is the
// conclusion; every label with its probability is a finding extension;
// the model's name and SHA-256 are extensions, so a reader can tie the
// report to the attested model.
func newReport(id, patient, imageID, issued string, d Diagnosis) fhir.DiagnosticReport {
	top := 0
	for i, p := range d.Probabilities {
		if p > d.Probabilities[top] {
			top = i
		}
	}
	ext := []fhir.Extension{
		{Url: ExtModel, ValueString: ptr(d.Model)},
		{Url: ExtModelSHA256, ValueString: ptr(d.ModelSHA256)},
		{Url: ExtImage, ValueString: ptr(imageID)},
	}
	for i, l := range d.Labels {
		p := json.Number(strconv.FormatFloat(float64(d.Probabilities[i]), 'f', -1, 32))
		ext = append(ext, fhir.Extension{Url: ExtFinding, Extension: []fhir.Extension{
			{Url: "label", ValueString: ptr(l)},
			{Url: "probability", ValueDecimal: &p},
		}})
	}
	return fhir.DiagnosticReport{
		Id:     &id,
		Status: fhir.DiagnosticReportStatusFinal,
		Code: fhir.CodeableConcept{
			Coding: []fhir.Coding{{System: ptr("http://loinc.org"), Code: ptr("18748-4"), Display: ptr("Diagnostic imaging study")}},
			Text:   ptr("Automated image analysis (demonstration model)"),
		},
		Subject:        &fhir.Reference{Reference: ptr("Patient/" + patient)},
		Issued:         &issued,
		Conclusion:     ptr(d.Labels[top]),
		ConclusionCode: []fhir.CodeableConcept{{Text: ptr(d.Labels[top])}},
		Extension:      ext,
	}
}

func (s *Server) handleDiagnose(w http.ResponseWriter, r *http.Request, u *user) {
	patient := r.PathValue("id")
	if !s.patientExists(w, r, u, "diagnose", patient) {
		return
	}
	b, err := readBody(w, r, "diagnose", MaxJSONBody, mediaJSON)
	var req struct {
		ImageID string `json:"imageId"`
	}
	if err == nil {
		if err = decodeStrict("diagnose", b, &req); err == nil && !validID(req.ImageID) {
			err = &InvalidError{Resource: "diagnose", Field: "imageId", Reason: "not an image id"}
		}
	}
	if err != nil {
		if rerr := s.record(u, "diagnose", "Patient", patient, patient, outcomeInvalid); rerr != nil {
			s.internal(w, r, "audit", rerr)
			return
		}
		writeInvalid(w, err)
		return
	}
	rec, err := s.store.get(r.Context(), keyImage(patient, req.ImageID))
	if errors.Is(err, errNotFound) || err == nil && len(rec) < 2 {
		if rerr := s.record(u, "diagnose", "Image", req.ImageID, patient, outcomeNotFound); rerr != nil {
			s.internal(w, r, "audit", rerr)
			return
		}
		writeError(w, r, http.StatusNotFound, "not-found", "no such image for this patient")
		return
	}
	if err != nil {
		s.internal(w, r, "read image", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DiagnoseTimeout)
	defer cancel()
	d, err := s.cfg.Diagnoser.Diagnose(ctx, rec[1:], contentTypeName(rec[0]))
	if err == nil {
		err = checkDiagnosis(d)
	}
	if err != nil {
		s.log.Error("careapi: diagnose", "err", err)
		if rerr := s.record(u, "diagnose", "Image", req.ImageID, patient, outcomeError); rerr != nil {
			s.internal(w, r, "audit", rerr)
			return
		}
		writeError(w, r, http.StatusBadGateway, "exception", "the diagnostics service failed")
		return
	}
	id := uuid.NewString()
	report, err := json.Marshal(newReport(id, patient, req.ImageID, fhirTime(s.now()), d))
	if err != nil {
		s.internal(w, r, "marshal report", err)
		return
	}
	err = s.store.addToIndex(r.Context(), keyReportIndex(patient), id, MaxReportsPerPatient, keyReport(id), report)
	if errors.Is(err, errFull) {
		s.refuseFull(w, r, u, "diagnose", "DiagnosticReport", patient, MaxReportsPerPatient, "reports")
		return
	}
	if err != nil {
		s.internal(w, r, "store report", err)
		return
	}
	if err := s.record(u, "diagnose", "DiagnosticReport", id, patient, outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	writeBody(w, http.StatusOK, mediaFHIR, json.RawMessage(report))
}
