import { describe, expect, it } from "vitest";
import { errorHeadline, toIpcError } from "./errors";

describe("toIpcError", () => {
  it("keeps a well-formed IpcError", () => {
    expect(toIpcError({ code: "credentials_rejected", message: "AppKey/AppSecret not accepted" })).toEqual({
      code: "credentials_rejected",
      message: "AppKey/AppSecret not accepted",
    });
  });

  it("falls back to internal for a plain string rejection", () => {
    expect(toIpcError("command list_orders not found")).toEqual({
      code: "internal",
      message: "command list_orders not found",
    });
  });

  it("keeps the disk-full code (it has its own headline)", () => {
    const e = toIpcError({ code: "disk_full", message: "Free some disk space" });
    expect(e.code).toBe("disk_full");
    expect(errorHeadline(e.code)).toBe("The disk is full");
  });

  it("falls back to internal for an unknown code", () => {
    expect(toIpcError({ code: "weird", message: "x" }).code).toBe("internal");
  });

  it("uses the message of a thrown Error", () => {
    expect(toIpcError(new Error("boom"))).toEqual({ code: "internal", message: "boom" });
  });
});
