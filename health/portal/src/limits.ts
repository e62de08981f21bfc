// Limits on what the portal accepts from the network and from the user,
// each with its reason. Values from untrusted sources (config.json, the
// token, the JWKS, sealed responses) are bounded before they are parsed.

/** MAX_TOKEN_SIZE bounds an attestation token, 64 KiB: cofre tokens are a few KiB (token.MaxTokenSize is the same order); more is not a token. */
export const MAX_TOKEN_SIZE = 64 << 10;

/** MAX_JWKS_SIZE bounds the JWKS document, 64 KiB: a handful of EC keys is under 2 KiB. */
export const MAX_JWKS_SIZE = 64 << 10;

/** MAX_JWKS_KEYS bounds the keys looked at in a JWKS: key rotation needs two or three. */
export const MAX_JWKS_KEYS = 32;

/** MAX_JWK_SIZE bounds the cnf JWK, 4 KiB (as sealed's maxJWKSize): a P-256 JWK is ~200 bytes. */
export const MAX_JWK_SIZE = 4 << 10;

/** MAX_CONFIG_SIZE bounds config.json, 64 KiB: it lists a few measurements and URLs. */
export const MAX_CONFIG_SIZE = 64 << 10;

/** MAX_SEALED_BODY is sealed.MaxBodySize, 32 MiB: HPKE opens in one piece, so both sides hold the whole body. */
export const MAX_SEALED_BODY = 32 << 20;

/** MAX_CONTEXT_SIZE is the sealed context bound, 4 KiB (an HTTP method and path). */
export const MAX_CONTEXT_SIZE = 4 << 10;

/** MAX_IMAGE_SIZE bounds an uploaded image, 2 MiB: the care API's limit (careapi.MaxImageSize), checked here so a larger file is refused before it is read and sealed; a chest PNG or DICOM the demo model reads is far smaller. */
export const MAX_IMAGE_SIZE = 2 << 20;

/** LEEWAY_SECONDS is the clock skew tolerated on exp, iat and nbf: token.DefaultLeeway, 30 s. */
export const LEEWAY_SECONDS = 30;

/** MAX_NAME_LENGTH bounds a patient name part: FHIR has no bound; 100 characters is any real name. */
export const MAX_NAME_LENGTH = 100;

/** MAX_MRN_LENGTH bounds a medical record number: hospital MRNs are short identifiers. */
export const MAX_MRN_LENGTH = 64;
