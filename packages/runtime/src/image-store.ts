// One interface for product image bytes: the gateway writes, the edge reads.
// Keys are content-addressed (`<prefix>sha256/ab/cd/<hex>.<ext>`), so the same bytes are stored
// once whatever products use them, and a key never changes meaning (served `immutable`).
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile, readdir } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, DeleteObjectCommand,
  ListObjectsV2Command, CreateBucketCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { env as envVar } from "./config";

const EXT: Record<string, string> = {
  "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
};
const TYPE_OF_EXT = Object.fromEntries(Object.entries(EXT).map(([t, e]) => [e, t]));

export interface StoredImage { key: string; sha256: string; bytes: number; contentType: string }
export interface ImageObject { key: string; bytes: number; modifiedAt: Date }

export interface ImageStore {
  readonly kind: "filesystem" | "s3";
  /** Writes the bytes under their content key unless already there; `written` says which. */
  put(body: Buffer, contentType: string): Promise<StoredImage & { written: boolean }>;
  get(key: string): Promise<Buffer | undefined>;
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  list(): AsyncIterable<ImageObject>;
  /** S3 only: a time-limited URL for the object (the edge may redirect to it). */
  presignedUrl?(key: string, expiresInS: number): Promise<string>;
}

export function sha256Hex(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}

/** The content-addressed key for bytes of a type (without the store's prefix). */
export function imageKey(sha256: string, contentType: string): string {
  const ext = EXT[contentType];
  if (!ext) throw new Error(`unsupported image type ${contentType}: one of ${Object.keys(EXT).join(", ")}`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error("an image key needs a lowercase hex SHA-256");
  return `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}.${ext}`;
}

const KEY_RE = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})\.(png|jpg|gif|webp)$/;
/** Parses a key (as `imageKey` makes it) or answers undefined: the edge's input check. */
export function parseImageKey(key: string): { sha256: string; contentType: string } | undefined {
  const m = KEY_RE.exec(key);
  if (!m || m[3]!.slice(0, 2) !== m[1] || m[3]!.slice(2, 4) !== m[2]) return undefined;
  return { sha256: m[3]!, contentType: TYPE_OF_EXT[m[4]!]! };
}

function checkedKey(key: string): string {
  if (!parseImageKey(key)) throw new Error(`not an image key: ${JSON.stringify(key).slice(0, 100)}`);
  return key;
}

export class FilesystemImageStore implements ImageStore {
  readonly kind = "filesystem" as const;
  constructor(readonly root: string) {}
  private path(key: string) { return join(this.root, ...checkedKey(key).split("/")); }
  async put(body: Buffer, contentType: string) {
    const sha256 = sha256Hex(body);
    const key = imageKey(sha256, contentType);
    const stored = { key, sha256, bytes: body.length, contentType };
    if (await this.has(key)) return { ...stored, written: false };
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path); // atomic: a reader never sees half an image
    return { ...stored, written: true };
  }
  async get(key: string) {
    try { return await readFile(this.path(key)); } catch (e) { if (isMissing(e)) return undefined; throw e; }
  }
  async has(key: string) {
    try { await stat(this.path(key)); return true; } catch (e) { if (isMissing(e)) return false; throw e; }
  }
  async delete(key: string) { await rm(this.path(key), { force: true }); }
  async *list(): AsyncIterable<ImageObject> {
    const walk = async function* (dir: string, root: string): AsyncIterable<ImageObject> {
      let entries;
      try { entries = await readdir(dir, { withFileTypes: true }); } catch (e) { if (isMissing(e)) return; throw e; }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) yield* walk(full, root);
        else {
          const key = relative(root, full).split(sep).join("/");
          if (!parseImageKey(key)) continue;
          const s = await stat(full);
          yield { key, bytes: s.size, modifiedAt: s.mtime };
        }
      }
    };
    yield* walk(this.root, this.root);
  }
}

export interface S3ImageStoreOptions {
  bucket: string; prefix?: string; endpoint?: string; region?: string;
  accessKeyId?: string; secretAccessKey?: string; forcePathStyle?: boolean;
}

export class S3ImageStore implements ImageStore {
  readonly kind = "s3" as const;
  readonly client: S3Client;
  private readonly prefix: string;
  constructor(readonly options: S3ImageStoreOptions) {
    this.prefix = options.prefix ? options.prefix.replace(/\/*$/, "/") : "";
    this.client = new S3Client({
      region: options.region ?? "us-east-1",
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
    });
  }
  private objectKey(key: string) { return this.prefix + checkedKey(key); }
  async ensureBucket() {
    try { await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket })); }
    catch (e) { const name = (e as { name?: string }).name; if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw e; }
  }
  async put(body: Buffer, contentType: string) {
    const sha256 = sha256Hex(body);
    const key = imageKey(sha256, contentType);
    const stored = { key, sha256, bytes: body.length, contentType };
    if (await this.has(key)) return { ...stored, written: false };
    await this.client.send(new PutObjectCommand({
      Bucket: this.options.bucket, Key: this.objectKey(key), Body: body, ContentType: contentType,
      CacheControl: "public, max-age=31536000, immutable", Metadata: { sha256 },
    }));
    return { ...stored, written: true };
  }
  async get(key: string) {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (e) { if (isS3Missing(e)) return undefined; throw e; }
  }
  async has(key: string) {
    try { await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) })); return true; }
    catch (e) { if (isS3Missing(e)) return false; throw e; }
  }
  async delete(key: string) {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }));
  }
  async *list(): AsyncIterable<ImageObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({
        Bucket: this.options.bucket, Prefix: this.prefix + "sha256/", ContinuationToken: token,
      }));
      for (const o of page.Contents ?? []) {
        const key = (o.Key ?? "").slice(this.prefix.length);
        if (parseImageKey(key)) yield { key, bytes: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  async presignedUrl(key: string, expiresInS: number) {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }), { expiresIn: expiresInS });
  }
}

/** The image store's variables, for a service's config schema (loadConfig validates them and masks the secret key). */
export const imageStoreEnv = {
  IMAGE_STORE: envVar.oneOf(["filesystem", "s3"], "filesystem"),
  IMAGE_STORE_DIR: envVar.optionalString(),
  IMAGE_S3_BUCKET: envVar.optionalString(),
  IMAGE_S3_PREFIX: envVar.optionalString(),
  IMAGE_S3_ENDPOINT: envVar.optionalString(),
  IMAGE_S3_REGION: envVar.optionalString(),
  IMAGE_S3_ACCESS_KEY_ID: envVar.optionalString(),
  IMAGE_S3_SECRET_ACCESS_KEY: envVar.optionalString(),
};

/** The store named by the environment: `IMAGE_STORE=filesystem` (default, under
 * `IMAGE_STORE_DIR`, default `.data/images`) or `s3` (`IMAGE_S3_BUCKET`, `IMAGE_S3_PREFIX`,
 * `IMAGE_S3_ENDPOINT`, `IMAGE_S3_REGION`, `IMAGE_S3_ACCESS_KEY_ID`, `IMAGE_S3_SECRET_ACCESS_KEY`). */
/** The IMAGE_STORE* values imageStoreFromEnv reads: the raw environment, or a config loadConfig validated with imageStoreEnv. */
export type ImageStoreVars = { readonly [K in keyof typeof imageStoreEnv]?: string };

export function imageStoreFromEnv(env: ImageStoreVars = process.env): ImageStore {
  const kind = env.IMAGE_STORE ?? "filesystem";
  if (kind === "filesystem") return new FilesystemImageStore(env.IMAGE_STORE_DIR ?? join(".data", "images"));
  if (kind === "s3") {
    if (!env.IMAGE_S3_BUCKET) throw new Error("IMAGE_STORE=s3 needs IMAGE_S3_BUCKET (and IMAGE_S3_ENDPOINT for a non-AWS server)");
    return new S3ImageStore({
      bucket: env.IMAGE_S3_BUCKET, prefix: env.IMAGE_S3_PREFIX, endpoint: env.IMAGE_S3_ENDPOINT,
      region: env.IMAGE_S3_REGION, accessKeyId: env.IMAGE_S3_ACCESS_KEY_ID, secretAccessKey: env.IMAGE_S3_SECRET_ACCESS_KEY,
    });
  }
  throw new Error(`IMAGE_STORE must be filesystem or s3, not ${JSON.stringify(kind)}`);
}

function isMissing(e: unknown) { return (e as NodeJS.ErrnoException)?.code === "ENOENT"; }
function isS3Missing(e: unknown) {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === "NoSuchKey" || err?.name === "NotFound" || err?.$metadata?.httpStatusCode === 404;
}
