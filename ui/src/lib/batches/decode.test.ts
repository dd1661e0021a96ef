import { describe, expect, it } from "vitest";
import { decodeExport } from "./decode";

describe("decoding an export", () => {
  it("reads UTF-8 as is, with or without a BOM", () => {
    const plain = new TextEncoder().encode("name\nMüller\n");
    expect(decodeExport(plain)).toEqual({ text: "name\nMüller\n", note: null });
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...plain]);
    expect(decodeExport(bom).text).toBe("name\nMüller\n");
  });

  it("reads UTF-16 by its byte order mark", () => {
    const le = new Uint8Array([0xff, 0xfe, 0x41, 0x00, 0xfc, 0x00]);
    expect(decodeExport(le)).toEqual({ text: "Aü", note: null });
    const be = new Uint8Array([0xfe, 0xff, 0x00, 0x41, 0x00, 0xfc]);
    expect(decodeExport(be)).toEqual({ text: "Aü", note: null });
  });

  it("reads a Windows-1252 export as such and says so instead of dropping characters", () => {
    const cp1252 = new Uint8Array([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x2c, 0x80]); // "Müller,€"
    const out = decodeExport(cp1252);
    expect(out.text).toBe("Müller,€");
    expect(out.note).toContain("Windows-1252");
  });
});
