// sdk-azure.mjs - the official `openai` npm package against the emulator's
// Azure OpenAI mode (--azure --api-key KEY), two ways a client is set up:
//   1. new OpenAI({ baseURL: '<root>/openai', apiKey, defaultHeaders:
//      { 'api-key': key }, defaultQuery: { 'api-version': V } })
//      (sends both Authorization: Bearer and api-key);
//   2. the SDK's AzureOpenAI client ({ endpoint, apiKey, apiVersion }),
//      which sends api-key only.
// Each: create store, upload, attach + poll, search with a filter, list
// with auto-paging, delete.  Then checks the wire in the request log: every
// request went to /openai/..., carried api-version and the api-key header,
// and was counted under the /v1 route templates.
//
// Env: AZURE_EMULATOR_URL + AZURE_API_KEY (an emulator already started
// with --azure --api-key), else EMU_BIN (this script starts one).
// Prints "N passed, N failed"; exit 1 on failure.
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const API_VERSION = '2025-04-01-preview';
let passed = 0;
let failed = 0;
function check(cond, what, extra) {
  if (cond) passed++;
  else {
    failed++;
    console.log(`FAIL: ${what}${extra !== undefined ? ' -- ' + JSON.stringify(extra).slice(0, 600) : ''}`);
  }
}
const eq = (a, b, what) => check(JSON.stringify(a) === JSON.stringify(b), `${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

let ROOT = (process.env.AZURE_EMULATOR_URL || '').replace(/\/$/, '');
let KEY = process.env.AZURE_API_KEY || 'sk-azure-sdk-key';
let child = null;
if (!ROOT) {
  if (!process.env.EMU_BIN) {
    console.error('AZURE_EMULATOR_URL or EMU_BIN is required');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vse-az-'));
  const pf = join(dir, 'port');
  child = spawn(process.env.EMU_BIN, ['--port', '0', '--port-file', pf, '--quiet', '--azure', '--api-key', KEY,
    '--processing-delay-ms', '20'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(pf); i++) await sleep(20);
  ROOT = `http://127.0.0.1:${readFileSync(pf, 'utf8').trim()}`;
}
const control = async (m, p, body) => (await fetch(ROOT + '/_emulator' + p, {
  method: m, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
})).json();

async function section(name, fn) {
  try { await fn(); } catch (e) {
    failed++;
    console.log(`FAIL: section ${name} threw: ${e && e.stack ? e.stack : e}`);
  }
}

async function exercise(name, client) {
  const tag = name + '-' + Date.now();
  const vs = await client.vectorStores.create({ name: tag, metadata: { tag } });
  check(/^vs_/.test(vs.id), `${name}: vectorStores.create`, vs);
  const f = await client.files.create({ file: await toFile(Buffer.from('azure refund policy: thirty days'), 'az.txt'), purpose: 'assistants' });
  eq([f.object, f.filename], ['file', 'az.txt'], `${name}: files.create`);
  const vf = await client.vectorStores.files.createAndPoll(vs.id, { file_id: f.id, attributes: { region: 'eu', year: 2025 } });
  eq(vf.status, 'completed', `${name}: vectorStores.files.createAndPoll`);
  const up = await client.vectorStores.files.uploadAndPoll(vs.id, await toFile(Buffer.from('shipping policy'), 'ship.txt'));
  eq(up.status, 'completed', `${name}: vectorStores.files.uploadAndPoll`);
  const s = await client.vectorStores.search(vs.id, { query: 'refund', filters: { type: 'eq', key: 'region', value: 'eu' } });
  eq(s.data.map((x) => x.file_id), [f.id], `${name}: vectorStores.search with a filter`);
  const files = [];
  for await (const x of client.vectorStores.files.list(vs.id, { limit: 1 })) files.push(x.id);
  eq(files, [up.id, f.id], `${name}: vectorStores.files.list auto-paging (limit 1, api-version on every page)`);
  const mine = [];
  for await (const x of client.vectorStores.list({ limit: 2 })) if (x.metadata && x.metadata.tag === tag) mine.push(x.id);
  eq(mine, [vs.id], `${name}: vectorStores.list`);
  const b = await client.vectorStores.fileBatches.createAndPoll(vs.id, { file_ids: [f.id, up.id] });
  eq(b.status, 'completed', `${name}: fileBatches.createAndPoll`);
  const d = await client.vectorStores.delete(vs.id);
  eq(d.deleted, true, `${name}: vectorStores.delete`);
}

await section('sdk azure', async () => {
  await control('POST', '/reset');
  await control('POST', '/config', { processing_delay_ms: 20 });
  const cfg = await control('GET', '/config');
  eq([cfg.azure, cfg.api_key_required], [true, true], 'emulator in Azure mode with a key');

  const plain = new OpenAI({
    baseURL: ROOT + '/openai', apiKey: KEY, maxRetries: 0,
    defaultHeaders: { 'api-key': KEY }, defaultQuery: { 'api-version': API_VERSION },
  });
  await exercise('OpenAI+defaultQuery', plain);

  if (typeof AzureOpenAI === 'function') {
    const az = new AzureOpenAI({ endpoint: ROOT, apiKey: KEY, apiVersion: API_VERSION, maxRetries: 0 });
    await exercise('AzureOpenAI', az);
  } else {
    console.log('SKIP: this openai version has no AzureOpenAI client');
  }

  // wrong key: the SDK's AuthenticationError, Azure's message
  const bad = new AzureOpenAI({ endpoint: ROOT, apiKey: 'sk-wrong-SECRET', apiVersion: API_VERSION, maxRetries: 0 });
  let err = null;
  try { await bad.vectorStores.list(); } catch (e) { err = e; }
  check(err instanceof OpenAI.AuthenticationError && err.status === 401 && err.code === '401', 'wrong key: AuthenticationError (401)', err && err.message);
  // no api-version: BadRequestError missing_api_version
  const noVersion = new OpenAI({ baseURL: ROOT + '/openai', apiKey: KEY, maxRetries: 0, defaultHeaders: { 'api-key': KEY } });
  err = null;
  try { await noVersion.vectorStores.list(); } catch (e) { err = e; }
  check(err instanceof OpenAI.BadRequestError && err.code === 'missing_api_version' && err.param === 'api-version', 'no api-version: BadRequestError missing_api_version', err && err.message);

  // the wire, from the request log
  const entries = (await control('GET', '/requests')).requests;
  const sdk = entries.filter((e) => e.headers['api-key'] === KEY && /api-version=/.test(e.query || ''));
  check(sdk.length >= 20, 'SDK requests recorded', sdk.length);
  check(sdk.every((e) => e.azure && e.path.startsWith('/openai/') && e.route.includes(' /v1/')), 'every SDK request on an Azure path, routed as /v1', sdk.filter((e) => !e.azure).slice(0, 2));
  check(sdk.every((e) => new URLSearchParams(e.query).get('api-version') === API_VERSION), 'api-version on every request (pages too)', sdk.map((e) => e.query).slice(0, 5));
  const azOnly = sdk.filter((e) => !e.headers.authorization);
  check(azOnly.length >= 10, 'AzureOpenAI sends api-key without Authorization', azOnly.length);
  const st = (await control('GET', '/stats')).requests;
  check(st['POST /v1/vector_stores/{id}/search']['200'] === 2 && st['POST /v1/files']['200'] === 4,
    'stats count the Azure requests under the /v1 templates', st);
});

if (child) {
  child.kill('SIGTERM');
  const code = await new Promise((ok) => child.on('exit', (c) => ok(c)));
  eq(code, 0, 'emulator: clean exit');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
