package careapi

import "time"

const (
	// MaxJSONBody caps a plain JSON or FHIR request body other than an
	// image upload: a Patient or Observation is a few KiB; the cap bounds
	// what an authenticated but hostile client makes the decoder allocate.
	MaxJSONBody = 64 << 10

	// MaxImageSize caps an uploaded image's decoded bytes. A sealed cache
	// value holds at most 4 MiB (cache.MaxValueSize) and a 224×224 chest
	// image as PNG or DICOM is well under 1 MiB; 2 MiB leaves room for a
	// larger DICOM file without approaching the cache's limit.
	MaxImageSize = 2 << 20

	// MaxImageBody caps the JSON body of an image upload: MaxImageSize as
	// base64 (4/3) plus the JSON around it.
	MaxImageBody = MaxImageSize*4/3 + 4<<10

	// MaxGatewayPlaintext caps an opened sealed request: the inner JSON
	// carries the inner body as base64 (4/3 of MaxImageBody, the largest
	// inner body) plus method, path and headers.
	MaxGatewayPlaintext = MaxImageBody*4/3 + 8<<10

	// MaxSealedBody caps the outer body of POST /api/sealed: the plaintext
	// cap plus the HPKE header, encapsulated key and tag (under 100
	// bytes). It is read before the AEAD tag is checked, so it is all an
	// anonymous sender can make the service hold.
	MaxSealedBody = MaxGatewayPlaintext + 1<<10

	// MaxGatewayResponse caps the inner response the gateway seals back. A
	// searchset of MaxPatients small Patients fits; a larger answer is a
	// bug and becomes a 500.
	MaxGatewayResponse = 8 << 20

	// MaxInnerPath caps the inner request's path and query.
	MaxInnerPath = 2048

	// MaxInnerHeaders caps the number of inner headers (only two are used).
	MaxInnerHeaders = 16

	// MaxPatients caps the patient index, and so a searchset Bundle and
	// the index value in the cache: a demonstration registry, not a
	// hospital's.
	MaxPatients = 1000

	// MaxPatientSize caps a Patient's stored JSON, after validation and
	// before the server adds its id (at most 60 bytes more). With
	// MaxPatients it bounds GET /fhir/Patient, which every clinician
	// reads: one clinician storing huge Patients must not push that
	// answer over MaxGatewayResponse for everyone (checked below). A
	// Patient with several names, identifiers and addresses is 1 to 2
	// KiB.
	MaxPatientSize = 7 << 10

	// MaxObservationSize caps an Observation's stored JSON likewise; an
	// Observation with a few codings, a value and a note is under 2 KiB.
	MaxObservationSize = 16 << 10

	// MaxObservationsPerPatient caps observations per patient, so a
	// search (MaxObservationsPerPatient of MaxObservationSize) fits in
	// MaxGatewayResponse (checked below).
	MaxObservationsPerPatient = 400

	// MaxReportsPerPatient caps DiagnosticReports per patient (a report
	// is at most about 20 KiB: MaxLabels findings of MaxLabelSize, so a
	// search stays near 2 MiB).
	MaxReportsPerPatient = 100

	// MaxImagesPerPatient caps uploaded images per patient: each may be
	// MaxImageSize, so this bounds one patient's share of the cache (40
	// MiB) against a clinician uploading without end.
	MaxImagesPerPatient = 20

	// MaxNameLength caps each string of a Patient's name (family, given,
	// prefix, suffix, text), in characters: far above any real name, far
	// below what would bloat the registry listing.
	MaxNameLength = 200

	// MaxIdentifierLength caps a Patient's identifier values (MRN,
	// national id), in characters.
	MaxIdentifierLength = 100

	// MaxStringLength caps every other string in a stored Patient or
	// Observation, in characters (a free-text note longer than a page
	// belongs in a document, not here).
	MaxStringLength = 1024

	// bundleOverhead and bundleEntryOverhead bound the JSON a searchset
	// Bundle adds around its resources: the envelope, and per entry the
	// fullUrl (urn:uuid:), search mode and separators, plus the id the
	// server writes into each resource.
	bundleOverhead      = 128
	bundleEntryOverhead = 160

	// MaxAuditEntries caps how many of the latest audit entries GET
	// /api/audit returns.
	MaxAuditEntries = 1000

	// MaxLoginFailures login attempts for one username (known or not)
	// within LoginWindow, without a success, lock that username until the
	// window ends. An attempt counts from before its password is hashed. It bounds online password
	// guessing to a few hundred attempts a day per account, whatever the
	// attacker's bandwidth, at the price that an attacker can keep an
	// account locked (an administrator sees it in the audit log).
	MaxLoginFailures = 5

	// LoginWindow is the period over which login failures are counted.
	LoginWindow = 15 * time.Minute

	// MaxLoginBuckets caps the usernames (known or not) whose login
	// attempts are being counted, about 100 bytes each (10 MB in all).
	// Each new name costs the sender an argon2id computation, which
	// MaxConcurrentHashes throttles to tens a second, so honest traffic
	// never fills it within a LoginWindow; a flood that does gets 429
	// for every name without a bucket rather than growing the map.
	MaxLoginBuckets = 100_000

	// MaxClockSkew is how far an inner request's ts may be from the
	// server's clock, either way. It is also how long a nonce is
	// remembered: a replay later than that is refused for its ts. Five
	// minutes tolerates unsynchronized client clocks (Kerberos uses the
	// same bound) while keeping the replay set small.
	MaxClockSkew = 5 * time.Minute

	// MaxReplayNonces caps the nonces remembered (about 60 bytes each, 12
	// MB in all): 200,000 in MaxClockSkew is over 600 sealed requests a
	// second, far beyond a demonstration's portal. When it is full and
	// nothing has expired, the gateway answers 503 rather than forget a
	// nonce early.
	MaxReplayNonces = 200_000

	// MaxConcurrentHashes bounds argon2id computations in flight. Each
	// takes its memory parameter (64 MiB by default) for tens of
	// milliseconds; without a bound, a flood of logins exhausts memory.
	MaxConcurrentHashes = 2

	// SessionIdle is the idle lifetime of a session: each authenticated
	// request extends it (HIPAA §164.312(a)(2)(iii) automatic logoff).
	SessionIdle = 30 * time.Minute

	// SessionMax is the absolute lifetime of a session, however active:
	// a stolen session cannot be kept alive for ever.
	SessionMax = 12 * time.Hour

	// RecordTTL is the lifetime of patient records in the sealed cache,
	// the longest the cache allows (cache.MaxTTL): in this demonstration
	// the cache is the store, and records age out after a week.
	RecordTTL = 7 * 24 * time.Hour

	// DefaultDiagnoseTimeout bounds a call to the Diagnoser when
	// Config.DiagnoseTimeout is zero.
	DefaultDiagnoseTimeout = 30 * time.Second

	// MaxLabels caps the findings a Diagnosis may carry, and MaxLabelSize
	// the length of each label, so a misbehaving model cannot bloat a
	// stored DiagnosticReport.
	MaxLabels    = 64
	MaxLabelSize = 128
)

// Compile-time checks that the largest searchset fits in
// MaxGatewayResponse: a negative constant does not convert to uint.
const (
	_ = uint(MaxGatewayResponse - bundleOverhead - MaxPatients*(MaxPatientSize+bundleEntryOverhead))
	_ = uint(MaxGatewayResponse - bundleOverhead - MaxObservationsPerPatient*(MaxObservationSize+bundleEntryOverhead))
)
