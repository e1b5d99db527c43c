// The same suite against the filesystem store and a real S3-compatible HTTP server (s3rver on a
// free port, not a mock).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AddressInfo } from "node:net";
import {
  FilesystemImageStore, ImageStore, S3ImageStore, imageKey, parseImageKey, sha256Hex,
} from "../src/image-store";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver");

const png = (n: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(64, n)]);

type Setup = { store: ImageStore; close: () => Promise<void> };

async function filesystem(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), "image-store-"));
  return { store: new FilesystemImageStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
}

async function s3(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), "s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir });
  const address: AddressInfo = await server.run();
  const store = new S3ImageStore({
    bucket: "images", prefix: "shop/", endpoint: `http://127.0.0.1:${address.port}`,
    accessKeyId: "S3RVER", secretAccessKey: "S3RVER",
  });
  await store.ensureBucket();
  return {
    store,
    close: async () => { store.client.destroy(); await server.close(); await rm(dir, { recursive: true, force: true }); },
  };
}

describe.each([["filesystem", filesystem], ["s3 (s3rver)", s3]] as const)("image store: %s", (_name, make) => {
  let setup: Setup;
  beforeAll(async () => { setup = await make(); });
  afterAll(async () => { await setup.close(); });

  it("stores bytes once under their content key and reads them back byte-exact", async () => {
    const body = png(1);
    const first = await setup.store.put(body, "image/png");
    expect(first).toMatchObject({ written: true, bytes: body.length, sha256: sha256Hex(body), contentType: "image/png" });
    expect(first.key).toBe(imageKey(sha256Hex(body), "image/png"));
    const again = await setup.store.put(Buffer.from(body), "image/png");
    expect(again).toMatchObject({ written: false, key: first.key });
    expect(await setup.store.has(first.key)).toBe(true);
    expect((await setup.store.get(first.key))!.equals(body)).toBe(true);
  });

  it("lists what it holds, answers undefined for a missing key and deletes", async () => {
    const a = await setup.store.put(png(2), "image/png");
    const b = await setup.store.put(png(3), "image/png");
    const keys: string[] = [];
    for await (const o of setup.store.list()) keys.push(o.key);
    expect(keys).toEqual(expect.arrayContaining([a.key, b.key]));
    await setup.store.delete(a.key);
    expect(await setup.store.has(a.key)).toBe(false);
    expect(await setup.store.get(a.key)).toBeUndefined();
  });

  it("refuses a key that is not content-addressed (no path escapes)", async () => {
    await expect(setup.store.get("../../etc/passwd")).rejects.toThrow(/not an image key/);
    await expect(setup.store.put(png(4), "text/html")).rejects.toThrow(/unsupported image type/);
  });
});

describe("image keys", () => {
  it("parse back to hash and type, and reject anything else", () => {
    const sha = sha256Hex(Buffer.from("x"));
    expect(parseImageKey(imageKey(sha, "image/jpeg"))).toEqual({ sha256: sha, contentType: "image/jpeg" });
    expect(parseImageKey(`sha256/00/00/${sha}.png`)).toBeUndefined();
    expect(parseImageKey("sha256/../x.png")).toBeUndefined();
  });
});
