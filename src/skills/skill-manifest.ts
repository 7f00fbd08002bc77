import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Signed skill bundles: `skill.manifest.json` in the skill folder lists every other file with its
 * SHA-256, and an Ed25519 signature over the skill, version, files and signing key. A bundle
 * verifies when the key is trusted (`skills.trustedKeys`), the signature holds, and the folder
 * holds exactly the listed files with exactly those digests.
 */
export const MANIFEST_FILE = 'skill.manifest.json';
/** Written by `hearth skills install` beside the skill's files (where it came from); not part of the bundle. */
export const INSTALL_RECORD = '.hearth-installed.json';

export interface SkillManifest {
  skill: string;
  version: string;
  files: Record<string, string>;
  /** The base64 raw Ed25519 public key that signed it. */
  signingKey: string;
  /** The base64 signature over `signedBytes(manifest)`. */
  signature: string;
}

/** What a check found wrong, naming the file or key. */
export interface BundleProblem {
  kind: 'unsigned' | 'unknown-key' | 'bad-signature' | 'tampered' | 'missing-file' | 'extra-file' | 'unreadable';
  message: string;
  file?: string;
}

export type BundleVerdict = { ok: true; manifest: SkillManifest; keyName: string } | { ok: false; problems: BundleProblem[] };

const MAX_FILES = 1000;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The bytes the signature covers: the manifest without its signature, keys in a fixed order. */
function signedBytes(manifest: Omit<SkillManifest, 'signature'>): Buffer {
  const files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Buffer.from(JSON.stringify({ skill: manifest.skill, version: manifest.version, files, signingKey: manifest.signingKey }), 'utf8');
}

/** Every regular file under `dir` but the manifest, as '/'-separated relative paths, sorted. Symlinks and special files are refused. */
export async function listBundleFiles(dir: string): Promise<{ files: string[]; problems: BundleProblem[] }> {
  const files: string[] = [];
  const problems: BundleProblem[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const rel = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        if (rel !== MANIFEST_FILE && rel !== INSTALL_RECORD) files.push(rel);
      } else problems.push({ kind: 'unreadable', file: rel, message: `${rel} is a symbolic link or special file; a bundle holds plain files only` });
      if (files.length > MAX_FILES) throw new Error(`the folder holds more than ${MAX_FILES} files`);
    }
  };
  await walk(dir);
  return { files: files.sort(), problems };
}

async function digestOf(path: string): Promise<string> {
  return `sha256:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
}

/** Writes `<name>.key` (PKCS#8 PEM, 0600) and `<name>.pub` (the base64 raw public key) into `outDir`. */
export async function generateSigningKey(name: string, outDir: string): Promise<{ keyFile: string; pubFile: string; publicKey: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  const keyFile = join(outDir, `${name}.key`);
  const pubFile = join(outDir, `${name}.pub`);
  await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  await writeFile(pubFile, `${raw.toString('base64')}\n`, { flag: 'wx' });
  return { keyFile, pubFile, publicKey: raw.toString('base64') };
}

/** Signs the skill folder with the private key in `keyFile`: writes `skill.manifest.json` and returns it. */
export async function signSkill(dir: string, skill: string, version: string, keyFile: string): Promise<SkillManifest> {
  const privateKey = createPrivateKey(await readFile(keyFile));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${keyFile} is not an Ed25519 private key (make one with hearth skills keygen)`);
  const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  const listed = await listBundleFiles(dir);
  if (listed.problems.length > 0) throw new Error(listed.problems.map((problem) => problem.message).join('; '));
  const files: Record<string, string> = {};
  for (const file of listed.files) files[file] = await digestOf(join(dir, file));
  const unsigned = { skill, version, files, signingKey: raw.toString('base64') };
  const manifest: SkillManifest = { ...unsigned, signature: sign(null, signedBytes(unsigned), privateKey).toString('base64') };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function parseManifest(text: string): SkillManifest | null {
  try {
    const value = JSON.parse(text) as Partial<SkillManifest>;
    const filesOk = value.files && typeof value.files === 'object' && Object.values(value.files).every((digest) => typeof digest === 'string');
    if (typeof value.skill !== 'string' || typeof value.version !== 'string' || !filesOk) return null;
    if (typeof value.signingKey !== 'string' || typeof value.signature !== 'string') return null;
    return value as SkillManifest;
  } catch {
    return null;
  }
}

function signatureHolds(manifest: SkillManifest): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(manifest.signingKey, 'base64')]), format: 'der', type: 'spki' });
    return verify(null, signedBytes(manifest), key, Buffer.from(manifest.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The digests of the folder against the manifest: changed, missing and extra files. */
async function fileProblems(dir: string, manifest: SkillManifest): Promise<BundleProblem[]> {
  const listed = await listBundleFiles(dir);
  const problems = [...listed.problems];
  const present = new Set(listed.files);
  for (const [file, digest] of Object.entries(manifest.files)) {
    if (!present.has(file)) problems.push({ kind: 'missing-file', file, message: `${file} is listed in the manifest but missing` });
    else if ((await digestOf(join(dir, file))) !== digest) problems.push({ kind: 'tampered', file, message: `${file} does not match its digest in the manifest: it changed after signing` });
  }
  for (const file of listed.files) {
    if (!Object.hasOwn(manifest.files, file)) problems.push({ kind: 'extra-file', file, message: `${file} is not in the manifest: it was added after signing` });
  }
  return problems;
}

/** Checks a skill folder against its manifest and the trusted keys (`skills.trustedKeys`: name → base64 key). */
export async function verifyBundle(dir: string, trustedKeys: Readonly<Record<string, string>>): Promise<BundleVerdict> {
  let text: string;
  try {
    if (!(await lstat(join(dir, MANIFEST_FILE))).isFile()) throw new Error('not a file');
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return { ok: false, problems: [{ kind: 'unsigned', file: MANIFEST_FILE, message: `the skill is not signed: it has no ${MANIFEST_FILE} (sign it with hearth skills sign)` }] };
  }
  const manifest = parseManifest(text);
  if (!manifest) return { ok: false, problems: [{ kind: 'unreadable', file: MANIFEST_FILE, message: `${MANIFEST_FILE} is not a valid manifest (skill, version, files, signingKey, signature)` }] };
  const keyName = Object.entries(trustedKeys).find(([, key]) => key.trim() === manifest.signingKey)?.[0];
  if (keyName === undefined) {
    return { ok: false, problems: [{ kind: 'unknown-key', message: `it is signed by the key ${manifest.signingKey.slice(0, 12)}…, which is not in skills.trustedKeys` }] };
  }
  if (!signatureHolds(manifest)) return { ok: false, problems: [{ kind: 'bad-signature', file: MANIFEST_FILE, message: `the signature in ${MANIFEST_FILE} does not match its contents (key "${keyName}")` }] };
  const problems = await fileProblems(dir, manifest);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, manifest, keyName };
}
