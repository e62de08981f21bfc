// What kind of image a chosen file is, by its first bytes: the portal
// uploads only PNG and DICOM Part 10, and says so before sending anything.
// The name and the browser's MIME type must agree with the bytes: a PNG
// renamed .dcm is refused rather than sent under the wrong type.

export type ImageType = "image/png" | "application/dicom";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]; // PNG spec §5.2
const DICOM_PREAMBLE = 128; // DICOM PS3.10 §7.1: 128-byte preamble, then "DICM"

/** imageKind returns the upload content type, or undefined for anything else. */
export function imageKind(name: string, type: string, head: Uint8Array): ImageType | undefined {
  const png = head.length >= 8 && PNG_SIGNATURE.every((b, i) => head[i] === b);
  const dicm = head.length >= DICOM_PREAMBLE + 4 && String.fromCharCode(...head.subarray(DICOM_PREAMBLE, DICOM_PREAMBLE + 4)) === "DICM";
  if (png && (type === "image/png" || (type === "" && /\.png$/i.test(name)))) return "image/png";
  // Browsers rarely know application/dicom; an empty or generic type with a .dcm name is normal.
  if (dicm && (type === "application/dicom" || ((type === "" || type === "application/octet-stream") && /\.dcm$/i.test(name)))) return "application/dicom";
  return undefined;
}
