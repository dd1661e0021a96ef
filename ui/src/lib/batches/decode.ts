// Turning the bytes of a billing export into text without losing a character silently:
// UTF-8 (with or without a BOM) as is, UTF-16 by its BOM (Excel's "Unicode text"), and
// anything else that is not valid UTF-8 read as Windows-1252 (Excel's "CSV" on Western
// systems), with a note so the person checks accented names before uploading.

export type DecodedText = { text: string; note: string | null };

export function decodeExport(bytes: Uint8Array): DecodedText {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { text: new TextDecoder("utf-16le").decode(bytes.subarray(2)), note: null };
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { text: new TextDecoder("utf-16be").decode(bytes.subarray(2)), note: null };
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes), note: null };
  } catch {
    return {
      text: decodeWindows1252(bytes),
      note: "This file is not UTF-8 text, so it was read as Windows-1252 (Western European). Check names and addresses with accents below before uploading, or save the export as “CSV UTF-8” and import it again.",
    };
  }
}

// Windows-1252 differs from Latin-1 only in 0x80–0x9F (€, quotes, dashes …); decoded here
// rather than by TextDecoder, whose "windows-1252" is plain Latin-1 in some runtimes.
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];

function decodeWindows1252(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : b);
  return out;
}
