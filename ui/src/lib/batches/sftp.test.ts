import { describe, expect, it } from "vitest";
import type { SftpSettingsView, SftpTestResult } from "../ipc/bindings";
import { formFromView, missingFields, pinOffer, sftpOutcomeHeadline, sftpOutcomeTone } from "./sftp";

function result(over: Partial<SftpTestResult> = {}): SftpTestResult {
  return {
    outcome: "ok",
    message: "",
    hostKey: "ssh-ed25519 AAAAC3Nza",
    hostKeyFingerprint: "SHA256:abc",
    pinnedFingerprint: null,
    ...over,
  };
}

const view: SftpSettingsView = {
  demo: false,
  configured: true,
  host: "sftp.example.com",
  port: 2222,
  user: "merchant",
  keyPath: "/home/m/.ssh/id_ed25519",
  inboundDir: "/inbound",
  outboundDir: "/outbound",
  pinnedFingerprint: "SHA256:abc",
  hasPassphrase: true,
};

describe("connection test results", () => {
  it("offers a first pin plainly and a replacement only after a mismatch", () => {
    expect(pinOffer(result({ outcome: "host_key_unpinned" }))).toEqual({
      hostKey: "ssh-ed25519 AAAAC3Nza",
      replaces: false,
    });
    expect(pinOffer(result({ outcome: "host_key_mismatch" }))?.replaces).toBe(true);
    expect(pinOffer(result({ outcome: "ok" }))).toBeNull();
    expect(pinOffer(result({ outcome: "unreachable", hostKey: null }))).toBeNull();
    expect(pinOffer(null)).toBeNull();
  });

  it("has a headline and a tone for every outcome", () => {
    expect(sftpOutcomeTone("ok")).toBe("good");
    expect(sftpOutcomeTone("host_key_unpinned")).toBe("warn");
    expect(sftpOutcomeTone("host_key_mismatch")).toBe("bad");
    expect(sftpOutcomeHeadline("host_key_mismatch")).toContain("nothing was sent");
    expect(sftpOutcomeHeadline("auth_failed")).toBe("Key refused");
  });
});

describe("the settings form", () => {
  it("starts from the saved settings without a passphrase or host key to send", () => {
    const form = formFromView(view);
    expect(form).toMatchObject({ host: "sftp.example.com", port: 2222, passphrase: null, hostKey: "" });
  });

  it("names each empty required field", () => {
    const form = formFromView({ ...view, host: " ", outboundDir: "", port: 0 });
    expect(missingFields(form)).toEqual(["host", "outbound folder"]);
    expect(missingFields({ ...form, port: 70000 })).toContain("port");
    expect(missingFields(formFromView(view))).toEqual([]);
  });
});
