import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchModelCommand } from '../src/commands/fetch-model.js';
import { tmpDir } from './helpers.js';

// A local stand-in for the Hugging Face API (HF_ENDPOINT), so the real download code runs offline.
const weights = Buffer.from('GGUF fake weights '.repeat(1000));
const files: Record<string, Buffer> = {
  'model.Q8_0.gguf': weights,
  'config.json': Buffer.from('{"dim":8}'),
  'README.md': Buffer.from('not wanted'),
};
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname === '/api/models/acme/tiny/revision/main') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          siblings: Object.entries(files).map(([rfilename, b]) => ({
            rfilename,
            size: b.length,
            ...(rfilename.endsWith('.gguf')
              ? { lfs: { size: b.length, sha256: createHash('sha256').update(b).digest('hex') } }
              : {}),
          })),
        }),
      );
      return;
    }
    const m = /^\/acme\/tiny\/resolve\/main\/(.+)$/.exec(u.pathname);
    if (m && files[m[1]!]) {
      res.setHeader('content-length', String(files[m[1]!]!.length));
      res.end(files[m[1]!]);
      return;
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('nq fetch-model', () => {
  it('lists a repository, downloads weights + config (not README), verifies size and sha256', async () => {
    process.env.HF_ENDPOINT = base;
    const dir = tmpDir('fetch');
    const got = await fetchModelCommand('acme/tiny', { dir, log: () => {} });
    expect(got.map((f) => path.basename(f)).sort()).toEqual(['config.json', 'model.Q8_0.gguf']);
    expect(fs.readFileSync(path.join(dir, 'acme__tiny', 'model.Q8_0.gguf'))).toEqual(weights);
    expect(fs.existsSync(path.join(dir, 'acme__tiny', 'model.Q8_0.gguf.part'))).toBe(false);
    // --include narrows; a direct URL downloads one file.
    const only = await fetchModelCommand('acme/tiny', {
      dir: tmpDir('fetch2'),
      include: '*.json',
      log: () => {},
    });
    expect(only.map((f) => path.basename(f))).toEqual(['config.json']);
    const one = await fetchModelCommand(`${base}/acme/tiny/resolve/main/config.json`, { dir, log: () => {} });
    expect(fs.readFileSync(one[0]!, 'utf8')).toBe('{"dim":8}');
    await expect(fetchModelCommand('acme/missing', { dir, log: () => {} })).rejects.toThrow(
      /was not found \(HTTP 404\)/,
    );
    await expect(fetchModelCommand('not a repo', { dir, log: () => {} })).rejects.toThrow(
      /neither a URL nor a Hugging Face repo id/,
    );
  });

  it('fails with a clear offline message when the host cannot be reached', async () => {
    // A port that was just free: connection refused, as when nothing answers.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    await expect(fetchModelCommand('acme/tiny', { dir: tmpDir('offline'), log: () => {} })).rejects.toThrow(
      new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): this machine looks offline`),
    );
    delete process.env.HF_ENDPOINT;
  });
});
