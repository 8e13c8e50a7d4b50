import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NqBackendError, NqFormatError, NqInputError } from '@nq/core';
import { SingleBar } from 'cli-progress';

export interface FetchOptions {
  dir?: string;
  include?: string;
  revision?: string;
  log?: (s: string) => void;
}

/** Files worth downloading from a model repository: weights, their configs and tokenizers. */
const WANTED =
  /(\.gguf|\.safetensors|^config\.json|^tokenizer\.(model|json)|^tokenizer_config\.json|^generation_config\.json|\.safetensors\.index\.json)$/;

/** HF_ENDPOINT as in huggingface_hub (a mirror, or a local server in tests). */
function endpoint(): string {
  return (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/**
 * `nq fetch-model <repo-or-url>`: a URL downloads that one file; `owner/name` lists the Hugging Face
 * repository (GET {HF_ENDPOINT}/api/models/{repo}/revision/{rev}?blobs=true), picks GGUF / safetensors
 * weights plus config and tokenizer files (or those matching --include), and downloads each from
 * {HF_ENDPOINT}/{repo}/resolve/{rev}/{file} to <dir>/<name>/, streaming to `<file>.part`, checking
 * the size and the LFS sha256 when the listing gives one, then renaming. Files already present with
 * the right size are skipped. Offline, it fails at once with a message saying so.
 */
export async function fetchModelCommand(target: string, o: FetchOptions = {}): Promise<string[]> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const baseDir = path.resolve(
    o.dir ?? process.env.NQ_MODELS ?? path.join(os.homedir(), '.cache', 'nq', 'models'),
  );
  if (/^https?:\/\//.test(target)) {
    const url = new URL(target);
    const name = decodeURIComponent(url.pathname.split('/').pop() || 'model');
    const dest = path.join(baseDir, 'downloads', name);
    await download(target, dest, undefined, undefined, log);
    return [dest];
  }
  if (!/^[\w.-]+\/[\w.-]+$/.test(target)) {
    throw new NqInputError(
      'repo-or-url',
      `"${target}" is neither a URL nor a Hugging Face repo id (owner/name)`,
      'Pass e.g. TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF or https://host/path/model.gguf.',
    );
  }
  const rev = o.revision ?? 'main';
  const api = `${endpoint()}/api/models/${target}/revision/${encodeURIComponent(rev)}?blobs=true`;
  const res = await get(api);
  if (res.status === 404 || res.status === 401)
    throw new NqInputError(
      'repo-or-url',
      `${target}@${rev} was not found (HTTP ${res.status}) at ${endpoint()}`,
      'Check the repo id and revision; gated repos need a token (not supported).',
    );
  if (!res.ok) throw new NqBackendError('network', `${api} answered HTTP ${res.status}`);
  const info = (await res.json()) as {
    siblings?: { rfilename: string; size?: number; lfs?: { sha256?: string; size?: number } }[];
  };
  if (!Array.isArray(info.siblings))
    throw new NqFormatError(api, 'the repository listing has no "siblings" array');
  const pattern = o.include ? globToRegExp(o.include) : null;
  const files = info.siblings.filter((s) =>
    pattern ? pattern.test(s.rfilename) : WANTED.test(path.basename(s.rfilename)),
  );
  if (files.length === 0) {
    throw new NqInputError(
      '--include',
      `no file of ${target} matches ${o.include ?? 'GGUF/safetensors/config/tokenizer'} (files: ${info.siblings
        .slice(0, 8)
        .map((s) => s.rfilename)
        .join(', ')}…)`,
      'Pick files with --include "<glob>".',
    );
  }
  const dir = path.join(baseDir, target.replace('/', '__'));
  const out: string[] = [];
  for (const f of files) {
    const dest = path.join(dir, f.rfilename);
    const url = `${endpoint()}/${target}/resolve/${encodeURIComponent(rev)}/${f.rfilename.split('/').map(encodeURIComponent).join('/')}`;
    await download(url, dest, f.lfs?.size ?? f.size, f.lfs?.sha256, log);
    out.push(dest);
  }
  log(`fetched ${out.length} file(s) into ${dir}`);
  return out;
}

async function get(url: string): Promise<Response> {
  try {
    return await fetch(url, { redirect: 'follow', headers: { 'user-agent': 'nq-fetch-model' } });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new NqBackendError(
      'network',
      `cannot reach ${new URL(url).host} (${why}): this machine looks offline or the host is blocked. ` +
        'Download the files elsewhere and copy them into a folder under $NQ_MODELS (a checkpoint with its tokenizer beside it), or set HF_ENDPOINT to a reachable mirror.',
      { cause: e },
    );
  }
}

async function download(
  url: string,
  dest: string,
  size: number | undefined,
  sha256: string | undefined,
  log: (s: string) => void,
): Promise<void> {
  if (size !== undefined && fs.existsSync(dest) && fs.statSync(dest).size === size) {
    log(`${path.basename(dest)}: already there (${size} bytes)`);
    return;
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const res = await get(url);
  if (!res.ok || !res.body) throw new NqBackendError('network', `${url} answered HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || size || 0;
  const part = `${dest}.part`;
  const fd = fs.openSync(part, 'w');
  const hash = createHash('sha256');
  const bar =
    process.stderr.isTTY && total > 0
      ? new SingleBar({
          stream: process.stderr,
          format: `${path.basename(dest)} [{bar}] {percentage}% | ETA {eta_formatted}`,
        })
      : null;
  bar?.start(total, 0);
  let got = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      fs.writeSync(fd, chunk);
      hash.update(chunk);
      got += chunk.length;
      bar?.update(got);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    bar?.stop();
  }
  if (size !== undefined && got !== size) {
    fs.unlinkSync(part);
    throw new NqFormatError(url, `downloaded ${got} bytes, the listing says ${size}`);
  }
  const digest = hash.digest('hex');
  if (sha256 && digest !== sha256) {
    fs.unlinkSync(part);
    throw new NqFormatError(url, `sha256 ${digest} does not match the listing's ${sha256}`);
  }
  fs.renameSync(part, dest);
  log(`${path.basename(dest)}: ${got} bytes, sha256 ${digest.slice(0, 12)}…`);
}

function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`(^|/)${re}$`);
}
