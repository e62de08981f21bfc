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

	// MaxPerPatient caps observations and reports per patient (each has
	// its own index value).
	MaxPerPatient = 1000

	// MaxAuditEntries caps how many of the latest audit entries GET
	// /api/audit returns.
	MaxAuditEntries = 1000

	// MaxLoginFailures failed logins for one username within LoginWindow
	// lock that username until the window ends. It bounds online password
	// guessing to a few hundred attempts a day per account, whatever the
	// attacker's bandwidth, at the price that an attacker can keep an
	// account locked (an administrator sees it in the audit log).
	MaxLoginFailures = 5

	// LoginWindow is the period over which login failures are counted.
	LoginWindow = 15 * time.Minute

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
