// emulator-tests.mjs - behavioural tests of the emulator over raw HTTP
// (node fetch / http), complementing the SDK conformance run.
//
// Env: EMULATOR_URL (root of a running emulator started with
//      --max-body-bytes 1048576), EMU_BIN (binary, for extra instances
//      started with --api-key / --fault), QUICK=1 (skip slow fault cases;
//      used under valgrind).
// Prints "N passed, N failed"; exit 1 on failure.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = (process.env.EMULATOR_URL || '').replace(/\/$/, '');
if (!ROOT) {
  console.error('EMULATOR_URL is required');
  process.exit(2);
}
const V1 = ROOT + '/v1';
const QUICK = process.env.QUICK === '1';
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

async function req(method, url, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array || body instanceof FormData) init.body = body;
    else {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(url, init);
  const buf = Buffer.from(await res.arrayBuffer());
  let json;
  try { json = JSON.parse(buf.toString('utf8')); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, buf };
}
const api = (m, p, b, h) => req(m, V1 + p, b, h);
const ctl = (m, p, b) => req(m, ROOT + '/_emulator' + p, b);

async function upload(content, filename = 'doc.txt', purpose = 'assistants') {
  const fd = new FormData();
  fd.append('purpose', purpose);
  fd.append('file', new Blob([content]), filename);
  const r = await api('POST', '/files', fd);
  if (r.status !== 200) throw new Error('upload failed ' + JSON.stringify(r.json));
  return r.json;
}
async function waitDone(vsId) {
  for (let i = 0; i < 200; i++) {
    const r = await api('GET', `/vector_stores/${vsId}`);
    if (r.json.status !== 'in_progress') return r.json;
    await new Promise((ok) => setTimeout(ok, 10));
  }
  throw new Error('store never completed');
}
async function storeWith(docs, chunking) {
  const vs = (await api('POST', '/vector_stores', { name: 't' })).json;
  const ids = [];
  for (const [text, attributes] of docs) {
    const f = await upload(text);
    ids.push(f.id);
    const body = { file_id: f.id };
    if (attributes) body.attributes = attributes;
    if (chunking) body.chunking_strategy = chunking;
    const r = await api('POST', `/vector_stores/${vs.id}/files`, body);
    if (r.status !== 200) throw new Error('attach failed ' + JSON.stringify(r.json));
  }
  await waitDone(vs.id);
  return { vs: vs.id, ids };
}
const search = (vs, body) => api('POST', `/vector_stores/${vs}/search`, body);
function isErr(r, status, param, what) {
  const e = r.json && r.json.error;
  check(r.status === status && e && typeof e.message === 'string' && typeof e.type === 'string' &&
    'param' in e && 'code' in e && (param === undefined || e.param === param),
  `${what}: expected ${status} param=${param}`, { status: r.status, body: r.json });
}
async function section(name, fn) {
  try { await fn(); } catch (e) {
    failed++;
    console.log(`FAIL: section ${name} threw: ${e && e.stack ? e.stack : e}`);
  }
}
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

await ctl('POST', '/reset');
await ctl('POST', '/config', { processing_delay_ms: 20 });

// ------------------------------------------------------------- basics
await section('basics', async () => {
  const h = await ctl('GET', '/health');
  eq([h.status, h.json], [200, { ok: true }], 'health');
  const r = await api('GET', '/vector_stores');
  check(/^req_[0-9a-f]+$/.test(r.headers.get('x-request-id') || ''), 'x-request-id header', r.headers.get('x-request-id'));
  eq(r.headers.get('content-type'), 'application/json', 'content-type json');
  // keep-alive: several requests over one agent socket = one connection
  const before = (await ctl('GET', '/stats')).json.connections_accepted;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 5; i++) {
    await new Promise((ok, ko) => {
      http.get(V1 + '/vector_stores?limit=1', { agent }, (res) => { res.resume(); res.on('end', ok); }).on('error', ko);
    });
  }
  agent.destroy();
  const after = (await ctl('GET', '/stats')).json.connections_accepted;
  eq(after - before, 1, 'keep-alive: 5 requests on 1 new connection (fetch reuses its own for stats)');
});

// ------------------------------------------------------------- files
await section('files', async () => {
  const bin = Buffer.from([0, 1, 2, 255, 0, 10, 13, 0x2d, 0x2d, 0]);
  const f = await upload(bin, 'b.bin');
  eq([f.bytes, f.filename, f.status, f.object], [10, 'b.bin', 'processed', 'file'], 'upload binary metadata');
  const c = await api('GET', `/files/${f.id}/content`);
  check(c.buf.equals(bin), 'binary content round-trip with NULs');
  eq(c.headers.get('content-type'), 'application/octet-stream', 'content-type octet-stream');
  const fd = new FormData();
  fd.append('purpose', 'nonsense');
  fd.append('file', new Blob(['x']), 'x.txt');
  isErr(await api('POST', '/files', fd), 400, 'purpose', 'invalid purpose');
  const fd2 = new FormData();
  fd2.append('purpose', 'assistants');
  isErr(await api('POST', '/files', fd2), 400, 'file', 'missing file');
  const fd3 = new FormData();
  fd3.append('purpose', 'batch');
  fd3.append('expires_after[anchor]', 'created_at');
  fd3.append('expires_after[seconds]', '100');
  fd3.append('file', new Blob(['x']), 'x.txt');
  isErr(await api('POST', '/files', fd3), 400, 'expires_after.seconds', 'expires_after.seconds < 3600');
  const g = await upload('second', 's.txt', 'user_data');
  const l = await api('GET', '/files?order=asc');
  eq(l.json.data.map((x) => x.id), [f.id, g.id], 'files list asc');
  const lp = await api('GET', '/files?purpose=user_data');
  eq(lp.json.data.map((x) => x.id), [g.id], 'files list purpose filter');
  isErr(await api('GET', '/files?limit=10001'), 400, 'limit', 'files limit 10001');
  eq((await api('GET', '/files?limit=10000')).status, 200, 'files limit 10000 ok');
  // deleting a file detaches it everywhere
  const vs = (await api('POST', '/vector_stores', { file_ids: [g.id] })).json;
  eq(vs.file_counts.total, 1, 'store created with file_ids');
  const d = await api('DELETE', `/files/${g.id}`);
  eq(d.json, { id: g.id, object: 'file', deleted: true }, 'file delete body');
  eq((await api('GET', `/vector_stores/${vs.id}`)).json.file_counts.total, 0, 'deleted file removed from store');
  isErr(await api('GET', `/files/${g.id}`), 404, undefined, 'deleted file 404');
});

// ------------------------------------------------------- processing
await section('processing', async () => {
  await ctl('POST', '/config', { processing_delay_ms: 1500 });
  const ok = await upload('fine text');
  const nul = await upload(Buffer.from('a\u0000b'));
  const bad = await upload(Buffer.from([0x61, 0xc3, 0x28]));
  const vs = (await api('POST', '/vector_stores', {})).json;
  const a = await api('POST', `/vector_stores/${vs.id}/files`, { file_id: ok.id });
  eq(a.json.status, 'in_progress', 'attach -> in_progress');
  const again = await api('POST', `/vector_stores/${vs.id}/files`, { file_id: ok.id, attributes: { x: 1 } });
  eq([again.status, again.json.id, again.json.attributes], [200, ok.id, null], 'attaching twice returns the existing object');
  const g = await api('GET', `/vector_stores/${vs.id}/files/${ok.id}`);
  const pa = Number(g.headers.get('openai-poll-after-ms'));
  check(pa >= 10 && pa <= 1000, 'openai-poll-after-ms while in_progress', pa);
  eq((await api('GET', `/vector_stores/${vs.id}`)).json.status, 'in_progress', 'store in_progress while a file is');
  await ctl('POST', '/config', { processing_delay_ms: 20 });
  await api('POST', `/vector_stores/${vs.id}/files`, { file_id: nul.id });
  await api('POST', `/vector_stores/${vs.id}/files`, { file_id: bad.id });
  await sleep(1600);
  const g2 = await api('GET', `/vector_stores/${vs.id}/files/${ok.id}`);
  eq([g2.json.status, g2.headers.get('openai-poll-after-ms')], ['completed', null], 'completed, no poll header');
  const n = (await api('GET', `/vector_stores/${vs.id}/files/${nul.id}`)).json;
  eq([n.status, n.last_error && n.last_error.code], ['failed', 'unsupported_file'], 'NUL bytes -> failed unsupported_file');
  const b = (await api('GET', `/vector_stores/${vs.id}/files/${bad.id}`)).json;
  eq([b.status, b.last_error && b.last_error.code], ['failed', 'invalid_file'], 'invalid UTF-8 -> failed invalid_file');
  const s = (await api('GET', `/vector_stores/${vs.id}`)).json;
  eq([s.status, s.file_counts, s.usage_bytes], ['completed', { in_progress: 0, completed: 1, failed: 2, cancelled: 0, total: 3 }, 9], 'store counts');
  const cf = (await api('GET', `/vector_stores/${vs.id}/files/${bad.id}/content`)).json;
  eq(cf, { object: 'vector_store.file_content.page', data: [], has_more: false, next_page: null }, 'failed file has no parsed content');
  // batches: cancel, both file_ids and files -> 400
  await ctl('POST', '/config', { processing_delay_ms: 60000 });
  const x = await upload('x1');
  const y = await upload('y1');
  const bt = (await api('POST', `/vector_stores/${vs.id}/file_batches`, { file_ids: [x.id, y.id] })).json;
  const bg = await api('GET', `/vector_stores/${vs.id}/file_batches/${bt.id}`);
  check(Number(bg.headers.get('openai-poll-after-ms')) === 1000, 'batch poll-after header', bg.headers.get('openai-poll-after-ms'));
  const cc = (await api('POST', `/vector_stores/${vs.id}/file_batches/${bt.id}/cancel`)).json;
  eq([cc.status, cc.file_counts.cancelled, cc.file_counts.total], ['cancelled', 2, 2], 'batch cancel');
  const lf = (await api('GET', `/vector_stores/${vs.id}/file_batches/${bt.id}/files?filter=cancelled`)).json;
  eq(lf.data.map((f) => f.id), [y.id, x.id], 'batch files filter=cancelled');
  await ctl('POST', '/config', { processing_delay_ms: 20 });
  isErr(await api('POST', `/vector_stores/${vs.id}/file_batches`, { file_ids: [x.id], files: [{ file_id: x.id }] }), 400, 'files', 'file_ids + files');
  isErr(await api('POST', `/vector_stores/${vs.id}/file_batches`, { file_ids: [] }), 400, 'file_ids', 'empty file_ids');
  isErr(await api('POST', `/vector_stores/${vs.id}/file_batches`, { files: [{ file_id: x.id, attributes: { a: { b: 1 } } }] }), 400, 'files[0].attributes.a', 'nested attribute in files[]');
  isErr(await api('POST', `/vector_stores/${vs.id}/file_batches`, { file_ids: Array(2001).fill(x.id) }), 400, 'file_ids', '2001 file_ids');
  isErr(await api('POST', `/vector_stores/${vs.id}/file_batches`, { file_ids: ['file-nope'] }), 404, 'file_ids', 'unknown file in batch');
  isErr(await api('GET', `/vector_stores/${vs.id}/files?filter=weird`), 400, 'filter', 'bad filter value');
});

// ------------------------------------------------------------- chunking
await section('chunking', async () => {
  const f = await upload(Array(1000).fill('alpha').join(' '));
  const vs = (await api('POST', '/vector_stores', {})).json;
  const st = (m, o) => ({ type: 'static', static: { max_chunk_size_tokens: m, chunk_overlap_tokens: o } });
  const P = 'chunking_strategy.static.';
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: st(99, 0) }), 400, P + 'max_chunk_size_tokens', 'max 99 rejected');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: st(4097, 0) }), 400, P + 'max_chunk_size_tokens', 'max 4097 rejected');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: st(100, 51) }), 400, P + 'chunk_overlap_tokens', 'overlap > half rejected');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: st(100, -1) }), 400, P + 'chunk_overlap_tokens', 'negative overlap rejected');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: { type: 'auto', x: 1 } }), 400, 'chunking_strategy.x', 'auto with extra key');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: { type: 'static' } }), 400, 'chunking_strategy.static', 'static without static');
  isErr(await api('POST', '/vector_stores', { file_ids: [f.id], chunking_strategy: st(4097, 0) }), 400, P + 'max_chunk_size_tokens', 'create store with bad chunking');
  const ok = await api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, chunking_strategy: st(100, 50) });
  eq([ok.status, ok.json.chunking_strategy], [200, st(100, 50)], '100/50 accepted');
  await waitDone(vs.id);
  // 1000 one-token words, 100 per chunk, 50 overlap: starts 0,50,...,900 -> 19 chunks
  const r = await search(vs.id, { query: 'alpha', max_num_results: 50 });
  eq(r.json.data.length, 19, '1000 tokens at 100/50 -> 19 chunks');
  eq(r.json.data[0].content[0].text, Array(100).fill('alpha').join(' '), 'chunk holds 100 tokens');
  // auto 800/400 -> chunks [0,800) [400,1000)
  const vs2 = (await api('POST', '/vector_stores', { file_ids: [f.id] })).json;
  await waitDone(vs2.id);
  eq((await search(vs2.id, { query: 'alpha', max_num_results: 50 })).json.data.length, 2, 'auto chunking -> 2 chunks');
  // no overlap: 250 tokens at 100/0 -> 3 chunks; long word = ceil(len/4) tokens
  const f3 = await upload(Array(250).fill('beta').join(' '));
  const vs3 = (await api('POST', '/vector_stores', { file_ids: [f3.id], chunking_strategy: st(100, 0) })).json;
  await waitDone(vs3.id);
  const r3 = (await search(vs3.id, { query: 'beta', max_num_results: 50 })).json.data;
  eq(r3.map((x) => x.content[0].text.split(' ').length).sort(), [100, 100, 50], '250 tokens at 100/0 -> 100,100,50');
});

// -------------------------------------------------------------- BM25
await section('bm25', async () => {
  const filler = Array(40).fill('lorem').join(' ');
  const { vs, ids } = await storeWith([
    ['apple banana', null],
    ['apple apple apple banana cherry', null],
    ['apple ' + filler, null],
    ['banana only here', null],
    ['apple banana', null],
  ]);
  const r = await search(vs, { query: 'apple' });
  eq(r.json.data.map((x) => x.file_id), [ids[1], ids[0], ids[4], ids[2]], 'more mentions first, shorter beats longer, ties by creation order, no zero scores');
  const sc = r.json.data.map((x) => x.score);
  check(sc.every((s) => s > 0 && s < 1), 'scores in (0,1)', sc);
  check(sc[0] > sc[1] && sc[1] === sc[2] && sc[2] > sc[3], 'score ordering / equal docs tie', sc);
  const r2 = await search(vs, { query: 'apple' });
  eq(r2.json, r.json, 'deterministic results');
  eq(r.json.search_query, ['apple'], 'search_query echoes query as array');
  eq([r.json.object, r.json.has_more, r.json.next_page], ['vector_store.search_results.page', false, null], 'page envelope');
  const t = await search(vs, { query: 'apple', ranking_options: { score_threshold: 1 } });
  eq(t.json.data.length, 0, 'threshold 1 drops everything');
  const rn = await search(vs, { query: 'apple', ranking_options: { ranker: 'none' } });
  eq(rn.json.data.map((x) => x.file_id), r.json.data.map((x) => x.file_id), 'ranker none ranks the same');
  const rw = await search(vs, { query: 'What about the Apple?!', rewrite_query: true });
  eq(rw.json.search_query, ['apple'], 'rewrite_query lowercases, drops stop words/punctuation');
  const multi = await search(vs, { query: ['cherry', 'only'] });
  eq(multi.json.data.map((x) => x.file_id).sort(), [ids[1], ids[3]].sort(), 'array query ORs terms');
  eq((await search(vs, { query: 'apple', max_num_results: 1 })).json.data.length, 1, 'max_num_results 1');
  isErr(await search(vs, { query: 'apple', max_num_results: 51 }), 400, 'max_num_results', 'max_num_results 51');
  isErr(await search(vs, { query: 'apple', max_num_results: 0 }), 400, 'max_num_results', 'max_num_results 0');
  isErr(await search(vs, { query: [] }), 400, 'query', 'empty query array');
  isErr(await search(vs, {}), 400, 'query', 'missing query');
  isErr(await search(vs, { query: 'x', ranking_options: { ranker: 'fast' } }), 400, 'ranking_options.ranker', 'bad ranker');
  isErr(await search(vs, { query: 'x', ranking_options: { score_threshold: 1.5 } }), 400, 'ranking_options.score_threshold', 'threshold > 1');
  isErr(await search(vs, { query: 'x', foo: 1 }), 400, 'foo', 'unknown search key');
});

// ------------------------------------------------------------- filters
await section('filters', async () => {
  const { vs, ids } = await storeWith([
    ['word one', { lang: 'en', year: 2020, pub: true, score: 1.5 }],
    ['word two', { lang: 'de', year: 2022, pub: false }],
    ['word three', { lang: 'fr', year: 2024, pub: true, score: 3 }],
  ]);
  const run = async (filters) => {
    const r = await search(vs, { query: 'word', filters });
    if (r.status !== 200) return ['HTTP ' + r.status, r.json];
    return r.json.data.map((x) => ids.indexOf(x.file_id)).sort();
  };
  eq(await run({ type: 'eq', key: 'lang', value: 'en' }), [0], 'eq string');
  eq(await run({ type: 'eq', key: 'pub', value: true }), [0, 2], 'eq bool');
  eq(await run({ type: 'eq', key: 'year', value: 2022 }), [1], 'eq number');
  eq(await run({ type: 'ne', key: 'lang', value: 'en' }), [1, 2], 'ne');
  eq(await run({ type: 'ne', key: 'score', value: 3 }), [0, 1], 'ne with missing attribute is true');
  eq(await run({ type: 'gt', key: 'year', value: 2020 }), [1, 2], 'gt');
  eq(await run({ type: 'gte', key: 'year', value: 2022 }), [1, 2], 'gte');
  eq(await run({ type: 'lt', key: 'year', value: 2022 }), [0], 'lt');
  eq(await run({ type: 'lte', key: 'score', value: 1.5 }), [0], 'lte (missing attribute false)');
  eq(await run({ type: 'gt', key: 'lang', value: 'en' }), [2], 'gt on strings compares bytes');
  eq(await run({ type: 'in', key: 'lang', value: ['de', 'fr'] }), [1, 2], 'in');
  eq(await run({ type: 'in', key: 'year', value: [2020, 'x'] }), [0], 'in numbers');
  eq(await run({ type: 'nin', key: 'lang', value: ['de', 'fr'] }), [0], 'nin');
  eq(await run({ type: 'and', filters: [{ type: 'eq', key: 'pub', value: true }, { type: 'gt', key: 'year', value: 2021 }] }), [2], 'and');
  eq(await run({ type: 'or', filters: [{ type: 'eq', key: 'lang', value: 'de' }, { type: 'lt', key: 'year', value: 2021 }] }), [0, 1], 'or');
  eq(await run({ type: 'or', filters: [
    { type: 'and', filters: [{ type: 'eq', key: 'lang', value: 'en' }, { type: 'eq', key: 'pub', value: true }] },
    { type: 'and', filters: [{ type: 'nin', key: 'lang', value: ['en'] }, { type: 'or', filters: [{ type: 'gte', key: 'score', value: 3 }, { type: 'eq', key: 'pub', value: false }] }] },
  ] }), [0, 1, 2], 'nested and/or (depth 3)');
  eq(await run({ type: 'and', filters: [] }), [0, 1, 2], 'empty and is true');
  eq(await run({ type: 'or', filters: [] }), [], 'empty or is false');
  const bad = async (filters, param, what) => isErr(await search(vs, { query: 'word', filters }), 400, param, what);
  await bad({ type: 'xor', filters: [] }, 'filters.type', 'unknown filter type');
  await bad({ type: 'and', filters: [{ type: 'eq', key: 'a', value: 1 }, { type: 'bogus', key: 'a', value: 1 }] }, 'filters.filters[1].type', 'nested bad type path');
  await bad({ type: 'eq', key: 'a' }, 'filters.value', 'missing value');
  await bad({ type: 'eq', value: 1 }, 'filters.key', 'missing key');
  await bad({ type: 'in', key: 'a', value: 'x' }, 'filters.value', 'in without array');
  await bad({ type: 'eq', key: 'a', value: { x: 1 } }, 'filters.value', 'object value');
  await bad({ type: 'eq', key: 'a', value: 1, extra: 1 }, 'filters.extra', 'extra key in comparison');
  await bad({ type: 'or', filters: [{ type: 'and', filters: 'no' }] }, 'filters.filters[0].filters', 'filters not an array');
  let deep = { type: 'eq', key: 'lang', value: 'en' };
  for (let i = 0; i < 63; i++) deep = { type: 'and', filters: [deep] };
  eq(await run(deep), [0], '64-level nesting accepted');
  const tooDeep = await search(vs, { query: 'word', filters: { type: 'or', filters: [deep] } });
  eq(tooDeep.status, 400, '65-level nesting rejected');
  let insane = { type: 'eq', key: 'k', value: 1 };
  for (let i = 0; i < 900; i++) insane = { type: 'and', filters: [insane] };
  eq((await search(vs, { query: 'word', filters: insane })).status, 400, '900-level nesting rejected without crash');
});

// ---------------------------------------------------------- pagination
await section('pagination', async () => {
  await ctl('POST', '/reset');
  await ctl('POST', '/config', { processing_delay_ms: 20 });
  const empty = (await api('GET', '/vector_stores')).json;
  eq(empty, { object: 'list', data: [], first_id: null, last_id: null, has_more: false }, 'empty list has null ids');
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await api('POST', '/vector_stores', { name: 'p' + i })).json.id);
  const all = (await api('GET', '/vector_stores')).json;
  eq(all.data.map((x) => x.id), [...ids].reverse(), 'default order desc (same second: by sequence)');
  const p1 = (await api('GET', '/vector_stores?limit=1')).json;
  eq([p1.data.length, p1.first_id, p1.last_id, p1.has_more], [1, ids[4], ids[4], true], 'limit 1');
  const p2 = (await api('GET', `/vector_stores?limit=2&after=${ids[4]}`)).json;
  eq([p2.data.map((x) => x.id), p2.has_more], [[ids[3], ids[2]], true], 'after');
  const p3 = (await api('GET', `/vector_stores?limit=2&after=${ids[1]}`)).json;
  eq([p3.data.map((x) => x.id), p3.has_more], [[ids[0]], false], 'last page');
  const b = (await api('GET', `/vector_stores?limit=2&before=${ids[1]}`)).json;
  eq([b.data.map((x) => x.id), b.has_more], [[ids[3], ids[2]], true], 'before: items just preceding, same order');
  const ba = (await api('GET', `/vector_stores?order=asc&limit=2&before=${ids[3]}`)).json;
  eq(ba.data.map((x) => x.id), [ids[1], ids[2]], 'before with asc');
  const asc = (await api('GET', `/vector_stores?order=asc&after=${ids[1]}`)).json;
  eq(asc.data.map((x) => x.id), [ids[2], ids[3], ids[4]], 'asc + after');
  const endp = (await api('GET', `/vector_stores?after=${ids[0]}`)).json;
  eq([endp.data, endp.first_id, endp.last_id, endp.has_more], [[], null, null, false], 'page past the end: null ids');
  eq((await api('GET', '/vector_stores?limit=100')).json.data.length, 5, 'limit 100');
  isErr(await api('GET', '/vector_stores?limit=0'), 400, 'limit', 'limit 0');
  isErr(await api('GET', '/vector_stores?limit=101'), 400, 'limit', 'limit 101');
  isErr(await api('GET', '/vector_stores?limit=abc'), 400, 'limit', 'limit abc');
  isErr(await api('GET', '/vector_stores?order=up'), 400, 'order', 'bad order');
  isErr(await api('GET', '/vector_stores?after=vs_nope'), 400, 'after', 'unknown after cursor');
  const vfe = (await api('GET', `/vector_stores/${ids[0]}/files`)).json;
  eq([vfe.first_id, vfe.last_id, vfe.data], [null, null, []], 'empty vector store file list');
});

// ----------------------------------------------------------- bad input
await section('bad input', async () => {
  const vs = (await api('POST', '/vector_stores', {})).json;
  isErr(await api('POST', '/vector_stores', '{"name": '), 400, null, 'bad JSON');
  isErr(await api('POST', '/vector_stores', '[1,2]', { 'content-type': 'application/json' }), 400, null, 'JSON not an object');
  isErr(await api('POST', '/vector_stores', { nam: 'x' }), 400, 'nam', 'unknown top-level key');
  isErr(await api('POST', '/vector_stores', { file_ids: Array(501).fill('file-x') }), 400, 'file_ids', '501 file_ids');
  isErr(await api('POST', '/vector_stores', { file_ids: ['file-missing'] }), 404, 'file_ids', 'unknown file id on create');
  isErr(await api('POST', '/vector_stores', { expires_after: { anchor: 'last_active_at', days: 0 } }), 400, 'expires_after.days', 'days 0');
  isErr(await api('POST', '/vector_stores', { expires_after: { anchor: 'last_active_at', days: 366 } }), 400, 'expires_after.days', 'days 366');
  isErr(await api('POST', '/vector_stores', { expires_after: { anchor: 'created_at', days: 3 } }), 400, 'expires_after.anchor', 'bad anchor');
  const md17 = Object.fromEntries(Array.from({ length: 17 }, (_, i) => ['k' + i, 'v']));
  isErr(await api('POST', '/vector_stores', { metadata: md17 }), 400, 'metadata', '17 metadata pairs');
  isErr(await api('POST', '/vector_stores', { metadata: { ['k'.repeat(65)]: 'v' } }), 400, 'metadata', 'metadata key 65');
  isErr(await api('POST', '/vector_stores', { metadata: { k: 'v'.repeat(513) } }), 400, 'metadata.k', 'metadata value 513');
  isErr(await api('POST', '/vector_stores', { metadata: { k: 1 } }), 400, 'metadata.k', 'metadata value not string');
  eq((await api('POST', '/vector_stores', { metadata: { ['k'.repeat(64)]: 'v'.repeat(512) } })).status, 200, 'metadata at limits ok');
  const f = await upload('attr test');
  const at = (a) => api('POST', `/vector_stores/${vs.id}/files`, { file_id: f.id, attributes: a });
  isErr(await at(Object.fromEntries(Array.from({ length: 17 }, (_, i) => ['k' + i, 1]))), 400, 'attributes', '17 attributes');
  isErr(await at({ k: [1] }), 400, 'attributes.k', 'array attribute');
  isErr(await at({ k: null }), 400, 'attributes.k', 'null attribute value');
  isErr(await at({ k: 'v'.repeat(513) }), 400, 'attributes.k', 'attribute string 513');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, {}), 400, 'file_id', 'missing file_id');
  isErr(await api('POST', `/vector_stores/${vs.id}/files`, { file_id: 'file-nope' }), 404, 'file_id', 'unknown file_id');
  const okat = await at({ s: 'v'.repeat(512), n: 1.5, b: false });
  eq(okat.json.attributes, { s: 'v'.repeat(512), n: 1.5, b: false }, 'attributes at limits ok');
  const up = await api('POST', `/vector_stores/${vs.id}/files/${f.id}`, { attributes: null });
  eq(up.json.attributes, null, 'update attributes to null');
  isErr(await api('POST', `/vector_stores/${vs.id}/files/${f.id}`, {}), 400, 'attributes', 'update without attributes');
  // modify: nulls allowed
  const m = await api('POST', `/vector_stores/${vs.id}`, { name: 'n', metadata: { a: 'b' }, expires_after: { anchor: 'last_active_at', days: 2 } });
  eq([m.json.name, m.json.metadata, m.json.expires_after.days], ['n', { a: 'b' }, 2], 'modify');
  const m2 = await api('POST', `/vector_stores/${vs.id}`, { name: null, metadata: null, expires_after: null });
  eq([m2.status, m2.json.name, m2.json.metadata, m2.json.expires_at], [200, 'n', null, null], 'modify with nulls');
  isErr(await api('POST', `/vector_stores/${vs.id}`, { description: 'x' }), 400, 'description', 'description not modifiable');
  isErr(await api('GET', '/vector_stores/vs_nope'), 404, null, 'unknown store');
  isErr(await api('GET', `/vector_stores/${vs.id}/files/file-nope`), 404, null, 'unknown vs file');
  isErr(await api('GET', `/vector_stores/${vs.id}/file_batches/vsfb_nope`), 404, null, 'unknown batch');
  isErr(await api('DELETE', '/files/file-nope'), 404, null, 'delete unknown file');
  isErr(await api('GET', '/nothing/here'), 404, null, 'unknown route');
  isErr(await req('GET', ROOT + '/v2/x'), 404, null, 'unknown route outside /v1');
  isErr(await api('PUT', '/vector_stores'), 405, null, 'wrong method');
  isErr(await api('PATCH', `/vector_stores/${vs.id}`, {}), 405, null, 'wrong method on item');
  const big = Buffer.alloc(1100 * 1024, 0x61);
  isErr(await api('POST', '/vector_stores', big, { 'content-type': 'application/json' }), 413, null, 'body > --max-body-bytes -> 413');
  const fdb = new FormData();
  fdb.append('purpose', 'assistants');
  fdb.append('file', new Blob([big]), 'big.txt');
  isErr(await api('POST', '/files', fdb), 413, null, 'upload > --max-body-bytes -> 413');
  const d = await api('DELETE', `/vector_stores/${vs.id}`);
  eq(d.json, { id: vs.id, object: 'vector_store.deleted', deleted: true }, 'delete store');
  eq((await ctl('GET', '/health')).status, 200, 'still healthy after bad input');
});

// -------------------------------------------------------------- faults
await section('faults', async () => {
  await ctl('POST', '/reset');
  const vs = (await api('POST', '/vector_stores', { name: 'f' })).json;
  const P = `/vector_stores/${vs.id}`;
  const add = async (rule) => {
    const r = await ctl('POST', '/faults', rule);
    if (r.status !== 200) throw new Error('fault rejected ' + JSON.stringify(r.json));
  };
  await add({ kind: 429, count: 1, retry_after: '2' });
  let r = await api('GET', P);
  eq([r.status, r.headers.get('retry-after'), r.json.error.code, r.json.error.type], [429, '2', 'rate_limit_exceeded', 'requests'], '429 with Retry-After');
  await add({ kind: '429', count: 1, retry_after_ms: 150 });
  r = await api('GET', P);
  eq([r.status, r.headers.get('retry-after-ms'), r.headers.get('retry-after')], [429, '150', null], '429 with retry-after-ms only');
  await add({ kind: 429, count: 1, retry_after: 'Wed, 21 Oct 2015 07:28:00 GMT', retry_after_ms: 5 });
  r = await api('GET', P);
  eq([r.headers.get('retry-after'), r.headers.get('retry-after-ms')], ['Wed, 21 Oct 2015 07:28:00 GMT', '5'], '429 with both header forms (HTTP date)');
  await add({ kind: 429, count: 1 });
  r = await api('GET', P);
  eq([r.status, r.headers.get('retry-after')], [429, '1'], '429 default Retry-After: 1');
  for (const k of [500, 502, 503]) {
    await add({ kind: k, count: 1 });
    r = await api('GET', P);
    eq([r.status, r.json.error.type, typeof r.json.error.message, r.json.error.param, r.json.error.code], [k, 'server_error', 'string', null, null], `${k} fault body`);
  }
  await add({ kind: 'should_retry_false', count: 1 });
  r = await api('GET', P);
  eq([r.status, r.headers.get('x-should-retry')], [503, 'false'], 'should_retry_false');
  const ok200 = async () => ((await ctl('GET', '/stats')).json.requests['GET /v1/vector_stores/{id}'] || {})['200'] || 0;
  let okBefore = await ok200();
  await add({ kind: 'malformed_json', count: 1 });
  r = await api('GET', P);
  eq(await ok200() - okBefore, 1, 'malformed_json counted as a 200 in stats');
  check(r.status === 200 && r.json === undefined && r.buf.length > 0 && r.buf.toString()[0] === '{', 'malformed_json: 200 with unparsable body', r.buf.toString());
  await add({ kind: 'reset', count: 1 });
  let err = null;
  try { await fetch(V1 + P); } catch (e) { err = e; }
  check(err !== null, 'reset: client sees a connection error', err && String(err.cause || err));
  eq((await api('GET', P)).status, 200, 'after count faults: normal');
  // route/method scoping
  await add({ kind: 503, count: 1, route: '/search' });
  eq((await api('GET', P)).status, 200, 'route-scoped fault does not hit other routes');
  eq((await search(vs.id, { query: 'x' })).status, 503, 'route-scoped fault hits /search');
  await add({ kind: 500, count: 1, method: 'DELETE' });
  eq((await api('GET', P)).status, 200, 'method-scoped fault skips GET');
  if (!QUICK) {
    await add({ kind: 'stall', count: 1, stall_ms: 400 });
    let t0 = Date.now();
    r = await api('GET', P);
    const took = Date.now() - t0;
    check(r.status === 200 && took >= 380, 'stall holds the request then answers', took);
    await add({ kind: 'stall', count: 1, stall_ms: 5000 });
    err = null;
    t0 = Date.now();
    try { await fetch(V1 + P, { signal: AbortSignal.timeout(200) }); } catch (e) { err = e; }
    check(err && err.name === 'TimeoutError' && Date.now() - t0 < 1000, 'stall: client timeout fires', err && err.name);
    okBefore = await ok200();
    await add({ kind: 'slow_body', count: 1, chunk_bytes: 32, interval_ms: 50 });
    t0 = Date.now();
    r = await api('GET', P);
    eq(await ok200() - okBefore, 1, 'slow_body counted as a 200 in stats');
    const slowMs = Date.now() - t0;
    const ticks = Math.ceil(r.buf.length / 32) - 1;
    check(r.status === 200 && r.json && r.json.id === vs.id && slowMs >= ticks * 50 * 0.8, 'slow_body trickles a valid body', { slowMs, ticks, len: r.buf.length });
  }
  // rate + seed reproducibility
  const pattern = async () => {
    await ctl('DELETE', '/faults');
    await add({ kind: 503, rate: 0.5, route: '/files' });
    const out = [];
    for (let i = 0; i < 20; i++) out.push((await api('GET', '/files')).status);
    await ctl('DELETE', '/faults');
    return out.join(',');
  };
  const a = await pattern();
  const b = await pattern();
  check(a === b && a.includes('503') && a.includes('200'), 'rate faults are seeded and reproducible', [a, b]);
  const st = (await ctl('GET', '/stats')).json;
  const g = st.requests['GET /v1/vector_stores/{id}'];
  eq([g['429'], g['500'], g['502'], g['503'], g['reset']], [4, 1, 1, 2, 1], 'stats count fault responses per route (503 + should_retry_false)');
  eq(st.requests['POST /v1/vector_stores/{id}/search']['503'], 1, 'stats count search 503');
  check(g['200'] >= 4 && st.requests_total >= 40 && st.bytes_in > 0 && st.connections_accepted > 0, 'stats totals', st);
  if (!QUICK) eq([g['stall']], [2], 'stats count stalls');
  const bad = await ctl('POST', '/faults', { kind: 'explode' });
  eq(bad.status, 400, 'unknown fault kind rejected');
  const list = await ctl('POST', '/faults', { faults: [{ kind: 500, count: 2 }, { kind: 502, rate: 0.1 }] });
  eq(list.json.faults.map((x) => x.kind), ['500', '502'], 'faults array form + listing');
  await ctl('DELETE', '/faults');
  eq((await ctl('GET', '/faults')).json.faults, [], 'DELETE /_emulator/faults clears');
  eq((await ctl('GET', '/health')).status, 200, 'healthy after faults');
});

// ------------------------------------------------- filter semantics
// Edge cases the extension's WHERE -> filters translation relies on
// (README "Filter semantics": which are documented, which assumed).
await section('filter semantics', async () => {
  const { vs, ids } = await storeWith([
    ['word zero', { str: 'apple', num: 10, flag: true, ts: 1704067200, ms: 1704067200123 }],
    ['word one', { str: 'Zebra', num: 2.5, flag: false, ts: 1710892800, ms: 1704067200124, mixed: '10' }],
    ['word two', { str: '\u00e9clair', num: -1, mixed: 10 }],
    ['word three', null],
  ]);
  const ALL = [0, 1, 2, 3];
  const run = async (filters) => {
    const r = await search(vs, { query: 'word', filters });
    if (r.status !== 200) return ['HTTP ' + r.status, r.json];
    return r.json.data.map((x) => ids.indexOf(x.file_id)).sort();
  };
  const runRaw = async (filtersText) => {
    const r = await api('POST', `/vector_stores/${vs}/search`, `{"query":"word","filters":${filtersText}}`, { 'content-type': 'application/json' });
    return r.json.data.map((x) => ids.indexOf(x.file_id)).sort();
  };
  const c = (type, key, value) => ({ type, key, value });
  // a key no file has: only ne / nin are true
  for (const [op, v, want] of [['eq', 1, []], ['ne', 1, ALL], ['gt', 1, []], ['gte', 1, []], ['lt', 1, []],
    ['lte', 1, []], ['in', [1, 'a'], []], ['nin', [1, 'a'], ALL]]) {
    eq(await run(c(op, 'nokey', v)), want, `missing key: ${op} -> ${want.length ? 'true' : 'false'}`);
  }
  // a key some files lack
  eq(await run(c('eq', 'ts', 1704067200)), [0], 'partly missing: eq');
  eq(await run(c('ne', 'ts', 1704067200)), [1, 2, 3], 'partly missing: ne is true where missing');
  eq(await run(c('gte', 'ts', 0)), [0, 1], 'partly missing: gte false where missing');
  eq(await run(c('lte', 'ts', 9e18)), [0, 1], 'partly missing: lte false where missing');
  eq(await run(c('nin', 'ts', [1704067200])), [1, 2, 3], 'partly missing: nin true where missing');
  // strings compare by bytes (UTF-8), not by locale
  eq(await run(c('gt', 'str', 'Zebra')), [0, 2], 'bytes: "apple" and "\u00e9clair" > "Zebra" (0x61, 0xC3 > 0x5A)');
  eq(await run(c('lt', 'str', 'apple')), [1], 'bytes: "Zebra" < "apple"');
  eq(await run(c('lt', 'str', 'b')), [0, 1], 'bytes: lt "b"');
  eq(await run(c('gte', 'str', '\u00e9')), [2], 'bytes: non-ASCII sorts after ASCII');
  eq(await run(c('eq', 'str', 'APPLE')), [], 'eq is case sensitive');
  // number vs string: a type mismatch is false for every operator but ne/nin
  eq(await run(c('eq', 'mixed', 10)), [2], 'mismatch: eq number matches the number only');
  eq(await run(c('eq', 'mixed', '10')), [1], 'mismatch: eq string matches the string only');
  eq(await run(c('ne', 'mixed', 10)), [0, 1, 3], 'mismatch: ne true for the string and where missing');
  eq(await run(c('gt', 'mixed', 5)), [2], 'mismatch: gt number ignores the string "10"');
  eq(await run(c('gt', 'mixed', '0')), [1], 'mismatch: gt string ignores the number 10');
  eq(await run(c('gte', 'mixed', 10)), [2], 'mismatch: gte');
  eq(await run(c('lte', 'mixed', '10')), [1], 'mismatch: lte');
  eq(await run(c('lt', 'mixed', 'zzz')), [1], 'mismatch: lt');
  eq(await run(c('lt', 'str', 1e308)), [], 'mismatch: string attribute vs number is false');
  // booleans: eq/ne by value; not ordered; never equal to 1 or "true"
  eq(await run(c('eq', 'flag', true)), [0], 'bool eq true');
  eq(await run(c('eq', 'flag', false)), [1], 'bool eq false');
  eq(await run(c('ne', 'flag', true)), [1, 2, 3], 'bool ne true (false and missing)');
  eq(await run(c('eq', 'flag', 1)), [], 'bool vs number 1: not equal');
  eq(await run(c('eq', 'flag', 'true')), [], 'bool vs string "true": not equal');
  eq(await run(c('ne', 'flag', 1)), ALL, 'bool vs number: ne true');
  eq(await run(c('gt', 'flag', false)), [], 'booleans are not ordered: gt false');
  eq(await run(c('lte', 'flag', true)), [], 'booleans are not ordered: lte false');
  eq(await run(c('eq', 'num', true)), [], 'number attribute vs boolean: not equal');
  eq(await run(c('in', 'flag', [1, 'true'])), [], 'in: a boolean attribute is in no array');
  eq(await run(c('nin', 'flag', [1, 'true'])), ALL, 'nin: a boolean attribute is in no array');
  // in / nin with mixed arrays: membership by type and value
  eq(await run(c('in', 'mixed', [10, 'x'])), [2], 'in mixed array: number member');
  eq(await run(c('in', 'mixed', ['10', 99])), [1], 'in mixed array: string member');
  eq(await run(c('nin', 'mixed', [10, '10'])), [0, 3], 'nin mixed array: only where missing');
  eq(await run(c('in', 'num', [10, '2.5'])), [0], 'in: "2.5" is not 2.5');
  eq(await run(c('in', 'num', [2.5, -1])), [1, 2], 'in numbers');
  eq(await run(c('in', 'str', [])), [], 'in empty array: false');
  eq(await run(c('nin', 'str', [])), ALL, 'nin empty array: true');
  // numbers are doubles: integer/float equal, epoch seconds and ms ordered
  eq(await runRaw('{"type":"eq","key":"num","value":10.0}'), [0], '10.0 equals 10');
  eq(await runRaw('{"type":"eq","key":"num","value":1e1}'), [0], '1e1 equals 10');
  eq(await run(c('gt', 'num', 2.4999)), [0, 1], 'fractional comparison');
  eq(await run(c('eq', 'num', 2)), [], 'eq: 2 is not 2.5 (no truncation)');
  eq(await run(c('in', 'num', [2, 3])), [], 'in: 2.5 is in no list of integers');
  eq(await run(c('ne', 'num', 2.5)), [0, 2, 3], 'ne on a fractional value');
  eq(await run(c('eq', 'ms', 1704067200124)), [1], 'eq on epoch milliseconds');
  eq(await run({ type: 'and', filters: [c('gte', 'ts', 1704067200), c('lte', 'ts', 1710892800)] }), [0, 1], 'epoch-seconds range');
  eq(await run(c('gt', 'ts', 1704067200)), [1], 'epoch seconds gt');
  eq(await run(c('gt', 'ms', 1704067200123)), [1], 'epoch milliseconds differ in the last digit');
  eq(await run(c('lt', 'num', 0)), [2], 'negative numbers');
});

// ------------------------------------------------- list before / limit
await section('list before/limit', async () => {
  await ctl('POST', '/config', { processing_delay_ms: 20 });
  const vs = (await api('POST', '/vector_stores', { name: 'lists' })).json;
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await upload('list doc ' + i)).id);
  const bt = (await api('POST', `/vector_stores/${vs.id}/file_batches`, { file_ids: ids })).json;
  await waitDone(vs.id);
  for (const [name, base] of [['vector store files', `/vector_stores/${vs.id}/files`],
    ['batch files', `/vector_stores/${vs.id}/file_batches/${bt.id}/files`]]) {
    const all = (await api('GET', base)).json;
    eq(all.data.map((x) => x.id), [...ids].reverse(), `${name}: default desc`);
    const b = (await api('GET', `${base}?limit=2&before=${ids[1]}`)).json;
    eq([b.data.map((x) => x.id), b.first_id, b.last_id, b.has_more], [[ids[3], ids[2]], ids[3], ids[2], true], `${name}: before (desc)`);
    const ba = (await api('GET', `${base}?order=asc&limit=2&before=${ids[3]}`)).json;
    eq([ba.data.map((x) => x.id), ba.has_more], [[ids[1], ids[2]], true], `${name}: before (asc)`);
    const bf = (await api('GET', `${base}?before=${ids[2]}&filter=completed`)).json;
    eq(bf.data.map((x) => x.id), [ids[4], ids[3]], `${name}: before + filter`);
    const bfirst = (await api('GET', `${base}?before=${ids[4]}`)).json;
    eq([bfirst.data, bfirst.first_id, bfirst.has_more], [[], null, false], `${name}: before the first item -> empty page`);
    const ab = (await api('GET', `${base}?after=${ids[4]}&before=${ids[0]}`)).json;
    eq(ab.data.map((x) => x.id), [ids[3], ids[2], ids[1]], `${name}: after + before`);
    const l1 = (await api('GET', `${base}?limit=1`)).json;
    eq([l1.data.length, l1.has_more], [1, true], `${name}: limit 1`);
    eq((await api('GET', `${base}?limit=100`)).json.data.length, 5, `${name}: limit 100`);
    isErr(await api('GET', `${base}?limit=0`), 400, 'limit', `${name}: limit 0`);
    isErr(await api('GET', `${base}?limit=101`), 400, 'limit', `${name}: limit 101`);
    isErr(await api('GET', `${base}?limit=1.5`), 400, 'limit', `${name}: limit 1.5`);
    isErr(await api('GET', `${base}?before=file-nope`), 400, 'before', `${name}: unknown before cursor`);
  }
  // GET /files has no `before` in the spec: ignored, never an error
  const f = (await api('GET', '/files?order=asc&limit=10000')).json.data.map((x) => x.id);
  const fb = (await api('GET', `/files?order=asc&limit=10000&before=${ids[2]}`));
  eq([fb.status, fb.json.data.map((x) => x.id)], [200, f], 'files: before is not a parameter of this endpoint (ignored)');
  isErr(await api('GET', '/files?limit=0'), 400, 'limit', 'files: limit 0');
});

// ---------------------------------------------------------- request log
await section('request log', async () => {
  await ctl('POST', '/reset');
  const reqs = async (since) => (await ctl('GET', '/requests' + (since !== undefined ? '?since=' + since : ''))).json;
  eq((await reqs()).requests, [], 'reset clears the request log');
  const cfg = (await ctl('GET', '/config')).json;
  eq(cfg.request_log, 10000, 'default capacity 10000');
  const base = (await reqs()).last_seq;
  const g = await api('GET', '/vector_stores?limit=2&order=asc', undefined, {
    authorization: 'Bearer sk-log-SECRET', 'OpenAI-Organization': 'org-log', 'X-Custom-Header': 'MiXeD Case  value',
  });
  eq(g.status, 200, 'logged request answered');
  const bodyText = '{"name":"logged","metadata":{"k":"v"},"expires_after":{"anchor":"last_active_at","days":7.0}}';
  const cr = await api('POST', '/vector_stores', bodyText, { 'content-type': 'application/json', 'api-key': 'azure-style' });
  eq(cr.status, 200, 'create answered');
  const fd = new FormData();
  fd.append('purpose', 'assistants');
  fd.append('file', new Blob(['x'.repeat(1000)], { type: 'text/plain' }), 'big.txt');
  const up = await api('POST', '/files', fd);
  const fd2 = new FormData();
  fd2.append('purpose', 'assistants');
  fd2.append('file', new Blob([Buffer.from([0, 1, 2, 255])]), 'bin.dat');
  await api('POST', '/files', fd2);
  await api('GET', '/nothing/here?x=%41&y');
  await ctl('GET', '/stats');   // control requests are not logged
  const big = Buffer.alloc(1100 * 1024, 0x61);
  await api('POST', '/vector_stores', big, { 'content-type': 'application/json' });
  await ctl('POST', '/faults', { kind: 503, count: 1 });
  await api('GET', '/files');
  await ctl('POST', '/faults', { kind: 'reset', count: 1 });
  try { await fetch(V1 + '/files?reset=1'); } catch { /* expected */ }
  const log = await reqs(base);
  const e = log.requests;
  eq(e.map((x) => x.seq), e.map((_, i) => base + 1 + i), 'seq numbers consecutive, oldest first');
  eq(e.map((x) => [x.method, x.path, x.status]), [
    ['GET', '/v1/vector_stores', 200], ['POST', '/v1/vector_stores', 200], ['POST', '/v1/files', 200],
    ['POST', '/v1/files', 200], ['GET', '/v1/nothing/here', 404], ['POST', '/v1/vector_stores', 413],
    ['GET', '/v1/files', 503], ['GET', '/v1/files', 0]], 'every API request with its status, none of the control ones');
  eq(log.last_seq, base + 8, 'last_seq');
  eq([e[0].query, e[0].route, e[0].route_class, e[0].azure], ['limit=2&order=asc', 'GET /v1/vector_stores', 'list', false], 'raw query, route and class');
  eq([e[0].headers.authorization, e[0].headers['openai-organization'], e[0].headers['x-custom-header']],
    ['Bearer sk-log-SECRET', 'org-log', 'MiXeD Case  value'], 'header names lower-cased, values verbatim (credentials included)');
  check(Object.keys(e[0].headers).every((k) => k === k.toLowerCase()), 'all header names lower case', Object.keys(e[0].headers));
  eq([e[0].body, e[0].body_bytes, e[0].multipart], [null, 0, null], 'GET: no body');
  eq(e[1].body_text, bodyText, 'JSON body text exactly as sent');
  eq([e[1].body.name, e[1].body.metadata, e[1].body.expires_after.days, e[1].body_bytes, e[1].body_truncated], ['logged', { k: 'v' }, 7, bodyText.length, false], 'JSON body parsed (body_text keeps "7.0")');
  eq(e[1].headers['api-key'], 'azure-style', 'api-key header recorded');
  const mp = e[2].multipart;
  eq(mp.map((p) => [p.name, p.filename, p.bytes]), [['purpose', null, 10], ['file', 'big.txt', 1000]], 'multipart: names, filenames, lengths');
  eq([mp[0].value, mp[0].truncated], ['assistants', false], 'multipart field value');
  eq([mp[1].content_type, mp[1].value, mp[1].truncated], ['text/plain', 'x'.repeat(256), true], 'file content capped at 256 bytes, with its content type');
  eq(e[2].body, null, 'multipart: no JSON body');
  eq(e[3].multipart[1].value_base64, Buffer.from([0, 1, 2, 255]).toString('base64'), 'binary file content base64');
  eq(e[4].query, 'x=%41&y', 'query kept raw (not decoded)');
  eq(e[4].route, 'GET (unknown route)', 'unknown route key');
  eq([e[5].body, e[5].body_bytes], [null, 1100 * 1024], '413: body discarded, bytes counted');
  eq(e[6].fault, '503', 'fault recorded');
  eq([e[7].fault, e[7].query], ['reset', 'reset=1'], 'reset connection recorded with status 0');
  eq((await reqs(base + 6)).requests.map((x) => x.seq), [base + 7, base + 8], '?since=N: only later entries');
  eq((await reqs(log.last_seq)).requests, [], '?since=last_seq: nothing');
  isErr(await ctl('GET', '/requests?since=abc'), 400, 'since', 'bad since');
  eq((await ctl('DELETE', '/requests')).json, { ok: true }, 'DELETE clears');
  const after = await reqs();
  eq([after.requests, after.last_seq], [[], base + 8], 'cleared; sequence numbers keep counting');
  await api('GET', '/files');
  eq((await reqs()).requests.map((x) => x.seq), [base + 9], 'next entry after a clear');
  // bounded: a ring of N
  const c3 = await ctl('POST', '/config', { request_log: 3 });
  eq(c3.json.request_log, 3, 'config request_log');
  for (let i = 0; i < 5; i++) await api('GET', '/files?i=' + i);
  const r3 = await reqs();
  eq([r3.requests.map((x) => x.query), r3.capacity, r3.dropped], [['i=2', 'i=3', 'i=4'], 3, 2], 'ring keeps the last N, counts the dropped');
  await ctl('POST', '/config', { request_log: 0 });
  await api('GET', '/files');
  eq((await reqs()).requests, [], 'request_log 0 = off');
  await ctl('POST', '/config', { request_log: 10000 });
  isErr(await ctl('POST', '/config', { request_log: -1 }), 400, 'request_log', 'negative request_log');
});

// ------------------------------------------------------- echo_secrets
await section('echo_secrets fault', async () => {
  await ctl('POST', '/reset');
  const vs = (await api('POST', '/vector_stores', {})).json;
  const H = { authorization: 'Bearer sk-echo-SECRET-1', 'OpenAI-Organization': 'org-echo-SECRET', 'OpenAI-Project': 'proj-echo-SECRET' };
  await ctl('POST', '/faults', { kind: 'echo_secrets', count: 1 });
  const r = await api('GET', `/vector_stores/${vs.id}`, undefined, H);
  const e = r.json.error;
  eq(r.status, 400, 'echo_secrets: default status 400');
  for (const k of ['message', 'type', 'code', 'param']) {
    check(typeof e[k] === 'string' && ['sk-echo-SECRET-1', 'org-echo-SECRET', 'proj-echo-SECRET'].every((s) => e[k].includes(s)),
      `echo_secrets: error.${k} holds the key, organization and project`, e);
  }
  for (const h of ['x-request-id', 'openai-organization', 'x-echo']) {
    check((r.headers.get(h) || '').includes('sk-echo-SECRET-1'), `echo_secrets: ${h} header holds the key`, r.headers.get(h));
  }
  eq((await api('GET', `/vector_stores/${vs.id}`, undefined, H)).status, 200, 'echo_secrets: count rule used up');
  await ctl('POST', '/faults', { kind: 'echo_secrets', count: 1, status: 401, route: '/search' });
  eq((await api('GET', `/vector_stores/${vs.id}`)).status, 200, 'echo_secrets: route scoped');
  const s = await search(vs.id, { query: 'x' });
  eq(s.status, 401, 'echo_secrets: status= override');
  await ctl('POST', '/faults', { kind: 'echo_secrets', count: 1 });
  const az = await api('GET', '/files', undefined, { 'api-key': 'azure-SECRET-key' });
  check(az.json.error.code.includes('azure-SECRET-key') && az.headers.get('x-echo').includes('azure-SECRET-key'), 'echo_secrets: api-key echoed', az.json);
  await ctl('POST', '/faults', { kind: 'echo_secrets', count: 1 });
  const none = await api('GET', '/files');
  eq(none.json.error.code, '(none)', 'echo_secrets: no credentials -> (none)');
  const st = (await ctl('GET', '/stats')).json.requests;
  eq([st['GET /v1/vector_stores/{id}']['400'], st['POST /v1/vector_stores/{id}/search']['401']], [1, 1], 'echo_secrets counted in stats by status');
  const lg = (await ctl('GET', '/requests')).json.requests.filter((x) => x.fault === 'echo_secrets');
  eq(lg.length, 4, 'echo_secrets in the request log');
  isErr(await ctl('POST', '/faults', { kind: 'echo_secrets', status: 42 }), 400, null, 'bad status rejected');
});

// ------------------------------------------------------------- Azure mode
await section('azure mode', async () => {
  await ctl('POST', '/reset');
  await ctl('POST', '/config', { processing_delay_ms: 20 });
  const AV = 'api-version=2025-04-01-preview';
  const az = (m, p, b, h) => req(m, ROOT + '/openai' + p, b, h);
  isErr(await az('GET', '/vector_stores?' + AV), 404, null, 'azure paths are not served outside Azure mode');
  const c = await ctl('POST', '/config', { azure: true });
  eq(c.json.azure, true, 'config azure: true');
  const miss = await az('GET', '/vector_stores');
  eq([miss.status, miss.json], [400, { error: { message: "Missing required query parameter 'api-version'.", type: 'invalid_request_error', param: 'api-version', code: 'missing_api_version' } }], 'missing api-version -> 400');
  eq((await az('GET', '/vector_stores?api-version=')).status, 400, 'empty api-version -> 400');
  eq((await az('GET', '/vector_stores?api-version')).status, 400, 'valueless api-version -> 400');
  eq((await az('GET', '/vector_stores?limit=1')).status, 400, 'other parameters do not stand in for api-version');
  // a full flow on Azure paths
  const vsr = await az('POST', '/vector_stores?' + AV, { name: 'azure store' });
  eq([vsr.status, vsr.json.object, vsr.json.name], [200, 'vector_store', 'azure store'], 'azure: create store');
  check(/^[0-9a-f-]{36}$/.test(vsr.headers.get('apim-request-id') || ''), 'azure: apim-request-id header', vsr.headers.get('apim-request-id'));
  const fd = new FormData();
  fd.append('purpose', 'assistants');
  fd.append('file', new Blob(['azure refund policy text']), 'az.txt');
  const f = await az('POST', '/files?' + AV, fd);
  eq([f.status, f.json.filename], [200, 'az.txt'], 'azure: upload');
  const at = await az('POST', `/vector_stores/${vsr.json.id}/files?${AV}`, { file_id: f.json.id, attributes: { a: 1 } });
  eq(at.status, 200, 'azure: attach');
  await waitDone(vsr.json.id);
  const s = await az('POST', `/vector_stores/${vsr.json.id}/search?${AV}`, { query: 'refund', filters: { type: 'eq', key: 'a', value: 1 } });
  eq(s.json.data.map((x) => x.file_id), [f.json.id], 'azure: search');
  const ids = [vsr.json.id];
  for (let i = 0; i < 4; i++) ids.push((await az('POST', '/vector_stores?' + AV, { name: 'az' + i })).json.id);
  const p1 = (await az('GET', `/vector_stores?limit=2&${AV}&order=asc`)).json;
  eq([p1.data.map((x) => x.id), p1.has_more], [[ids[0], ids[1]], true], 'azure: api-version does not disturb limit/order');
  const p2 = (await az('GET', `/vector_stores?${AV}&limit=2&order=asc&after=${p1.last_id}`)).json;
  eq(p2.data.map((x) => x.id), [ids[2], ids[3]], 'azure: after with api-version first');
  const p3 = (await az('GET', `/vector_stores?limit=2&before=${ids[4]}&order=asc&${AV}`)).json;
  eq(p3.data.map((x) => x.id), [ids[2], ids[3]], 'azure: before with api-version last');
  isErr(await az('GET', `/vector_stores?limit=0&${AV}`), 400, 'limit', 'azure: limit validated');
  const fl = (await az('GET', `/files?purpose=assistants&${AV}`)).json;
  eq(fl.data.map((x) => x.id), [f.json.id], 'azure: files list with purpose');
  const content = await az('GET', `/files/${f.json.id}/content?${AV}`);
  eq(content.buf.toString(), 'azure refund policy text', 'azure: file content');
  eq((await az('DELETE', `/vector_stores/${ids[4]}?${AV}`)).json.deleted, true, 'azure: delete');
  isErr(await az('GET', `/vector_stores/vs_nope?${AV}`), 404, null, 'azure: 404');
  isErr(await az('GET', `/nothing?${AV}`), 404, null, 'azure: unknown route');
  isErr(await az('PUT', `/vector_stores?${AV}`), 405, null, 'azure: 405');
  const v1 = await api('GET', `/vector_stores/${vsr.json.id}`);
  eq([v1.status, v1.headers.get('apim-request-id')], [200, null], '/v1 stays available in Azure mode (no Azure headers)');
  // faults apply to Azure paths as to /v1
  await ctl('POST', '/faults', { kind: 503, count: 1, route: '/search' });
  eq((await az('POST', `/vector_stores/${vsr.json.id}/search?${AV}`, { query: 'x' })).status, 503, 'azure: route-scoped fault');
  // stats: Azure paths count under the /v1 templates
  const st = (await ctl('GET', '/stats')).json.requests;
  check(Object.keys(st).every((k) => !k.includes('/openai')), 'azure: no /openai keys in stats', Object.keys(st));
  eq(st['POST /v1/vector_stores']['200'], 5, 'azure: creates counted as POST /v1/vector_stores');
  eq(st['POST /v1/vector_stores/{id}/search'], { 200: 1, 503: 1 }, 'azure: searches counted under the /v1 template');
  eq(st['GET /v1/vector_stores']['400'], 5, 'azure: missing api-version counted (400)');
  check(st['GET /v1/vector_stores/{id}']['404'] === 1 && st['GET /v1/vector_stores/{id}']['200'] >= 2, 'azure + /v1 retrieves counted together', st['GET /v1/vector_stores/{id}']);
  const lg = (await ctl('GET', '/requests')).json.requests;
  const lc = lg.find((x) => x.method === 'POST' && x.path === '/openai/vector_stores');
  eq([lc.azure, lc.route, lc.query], [true, 'POST /v1/vector_stores', AV], 'azure: request log has the raw path and the /v1 route');
  await ctl('POST', '/config', { azure: false });
  isErr(await az('GET', '/vector_stores?' + AV), 404, null, 'azure off again: 404');
});

// --------------------------------------------------------- lenient mode
await section('lenient mode', async () => {
  await ctl('POST', '/reset');
  await ctl('POST', '/config', { processing_delay_ms: 20 });
  isErr(await api('POST', '/vector_stores', { name: 'x', embedding_model: 'm' }), 400, 'embedding_model', 'strict by default');
  eq((await ctl('POST', '/config', { lenient: true })).json.lenient, true, 'config lenient: true');
  const extra = { embedding_model: 'all-MiniLM-L6-v2', embedding_dimension: 384, provider_id: 'faiss', provider_options: { a: [1, 2] } };
  const c = await api('POST', '/vector_stores', { name: 'lenient', ...extra, status: 'bogus', id: 'vs_fake' });
  eq(c.status, 200, 'lenient: unknown fields accepted');
  eq([c.json.embedding_model, c.json.embedding_dimension, c.json.provider_id, c.json.provider_options], Object.values(extra), 'lenient: unknown fields echoed in the store');
  check(c.json.status === 'completed' && /^vs_/.test(c.json.id) && c.json.id !== 'vs_fake', 'lenient: known fields are never overridden', c.json);
  const g = (await api('GET', `/vector_stores/${c.json.id}`)).json;
  eq(g.embedding_model, extra.embedding_model, 'lenient: kept on retrieve');
  const l = (await api('GET', '/vector_stores')).json;
  eq(l.data[0].provider_id, 'faiss', 'lenient: kept in lists');
  const m = await api('POST', `/vector_stores/${c.json.id}`, { name: 'm', embedding_model: 'other', tag: 't' });
  eq([m.status, m.json.name, m.json.embedding_model, m.json.tag, m.json.provider_id], [200, 'm', 'other', 't', 'faiss'], 'lenient: modify keeps and updates unknown fields');
  isErr(await api('POST', '/vector_stores', { chunking_strategy: { type: 'auto', x: 1 } }), 400, 'chunking_strategy.x', 'lenient: nested unknown keys still 400');
  isErr(await api('POST', '/vector_stores', { name: 5 }), 400, 'name', 'lenient: known fields still validated');
  const fd = new FormData();
  fd.append('purpose', 'assistants');
  fd.append('provider_id', 'x');
  for (let i = 0; i < 20; i++) fd.append('extra' + i, String(i));
  fd.append('file', new Blob(['lenient upload text']), 'l.txt');
  const up = await api('POST', '/files', fd);
  eq([up.status, up.json.filename], [200, 'l.txt'], 'lenient: unknown multipart fields accepted (more than 16 parts)');
  const vf = await api('POST', `/vector_stores/${c.json.id}/files`, { file_id: up.json.id, foo: 1 });
  eq(vf.status, 200, 'lenient: unknown field on attach accepted');
  eq((await search(c.json.id, { query: 'x', search_mode: 'hybrid' })).status, 200, 'lenient: unknown search field accepted');
  const lg = (await ctl('GET', '/requests')).json.requests.find((x) => x.path === '/v1/files' && x.method === 'POST');
  eq(lg.multipart.find((p) => p.name === 'provider_id').value, 'x', 'lenient: ignored fields visible in the request log');
  await ctl('POST', '/config', { lenient: false });
  isErr(await api('POST', '/vector_stores', { embedding_model: 'm' }), 400, 'embedding_model', 'strict again');
  const fd2 = new FormData();
  fd2.append('purpose', 'assistants');
  fd2.append('provider_id', 'x');
  fd2.append('file', new Blob(['t']), 't.txt');
  isErr(await api('POST', '/files', fd2), 400, 'provider_id', 'strict: unknown multipart field -> 400');
  await ctl('POST', '/config', { lenient: true });
  await ctl('POST', '/reset');
  eq((await ctl('GET', '/config')).json.lenient, false, 'reset restores the command-line mode');
});

// ------------------------------------------------------------- latency
await section('latency', async () => {
  await ctl('POST', '/reset');
  const vs = (await api('POST', '/vector_stores', {})).json;
  const c = await ctl('POST', '/config', { latency: { search: 300, default: 0 } });
  eq([c.status, c.json.latency.search, c.json.latency.list, c.json.latency.default], [200, 300, 0, 0], 'config latency shown');
  eq(Object.keys((await ctl('GET', '/config')).json.latency).sort(),
    ['content', 'create', 'default', 'delete', 'file_batches', 'list', 'other', 'retrieve', 'search', 'update', 'upload'], 'every route class listed');
  let t0 = Date.now();
  eq((await search(vs.id, { query: 'x' })).status, 200, 'search answered');
  const ts = Date.now() - t0;
  check(ts >= 290 && ts < 1500, 'search delayed by its class latency', ts);
  t0 = Date.now();
  await api('GET', '/vector_stores');
  check(Date.now() - t0 < 200, 'other classes not delayed', Date.now() - t0);
  // a delayed request does not block other connections
  t0 = Date.now();
  let listDone = 0;
  const searches = Array.from({ length: 4 }, () => search(vs.id, { query: 'x' }));
  const list = api('GET', '/vector_stores').then(() => { listDone = Date.now() - t0; });
  await Promise.all([...searches, list]);
  const all = Date.now() - t0;
  check(listDone < 200 && all < 1000, '4 concurrent delayed searches overlap; a list in between is not held up', { listDone, all });
  await ctl('POST', '/config', { latency: { default: 150 } });
  t0 = Date.now();
  await api('GET', '/files');
  check(Date.now() - t0 >= 140, 'default applies to classes not named', Date.now() - t0);
  eq((await ctl('GET', '/config')).json.latency.search, 150, 'config latency replaces the whole table');
  // reset cuts a delay short and restores the command-line table
  await ctl('POST', '/config', { latency: { list: 5000 } });
  t0 = Date.now();
  const slow = api('GET', '/vector_stores');
  await sleep(100);
  await ctl('POST', '/reset');
  const sr = await slow;
  check(sr.status === 200 && Date.now() - t0 < 2000, 'reset wakes a delayed request', Date.now() - t0);
  eq((await ctl('GET', '/config')).json.latency.list, 0, 'reset restores latency');
  isErr(await ctl('POST', '/config', { latency: { searhc: 1 } }), 400, 'latency.searhc', 'unknown class');
  isErr(await ctl('POST', '/config', { latency: { search: -1 } }), 400, 'latency.search', 'negative latency');
  isErr(await ctl('POST', '/config', { latency: { search: 1.5 } }), 400, 'latency.search', 'fractional ms');
  isErr(await ctl('POST', '/config', { latency: 5 }), 400, 'latency', 'latency not an object');
  isErr(await ctl('POST', '/config', { processing_delay_ms: 1234, latency: { bad: 1 } }), 400, 'latency.bad', 'invalid config');
  eq((await ctl('GET', '/config')).json.processing_delay_ms !== 1234, true, 'an invalid config changes nothing');
  isErr(await ctl('POST', '/config', { nonsense: 1 }), 400, 'nonsense', 'unknown config key');
});

// ---------------------------------------------------------- rate limits
await section('rate limits', async () => {
  await ctl('POST', '/reset');
  const vs = (await api('POST', '/vector_stores', {})).json;
  const c = await ctl('POST', '/config', { rate_limit: { search: 5 } });
  eq([c.json.rate_limit.search, c.json.rate_limit.list], [5, 0], 'config rate_limit shown');
  const seen = [];
  for (let i = 0; i < 5; i++) {
    const r = await search(vs.id, { query: 'x' });
    seen.push([r.status, r.headers.get('x-ratelimit-limit-requests'), r.headers.get('x-ratelimit-remaining-requests')]);
  }
  eq(seen, [[200, '5', '4'], [200, '5', '3'], [200, '5', '2'], [200, '5', '1'], [200, '5', '0']], 'burst of 5, x-ratelimit headers count down');
  const r = await search(vs.id, { query: 'x' });
  eq([r.status, r.json.error.type, r.json.error.code, r.json.error.param], [429, 'requests', 'rate_limit_exceeded', null], '6th -> 429 like the real service');
  check(/^Rate limit reached for requests .* Limit 5, .* Please try again in \d+ms\. Visit https:\/\/platform\.openai\.com\/account\/rate-limits to learn more\.$/.test(r.json.error.message), '429 message', r.json.error.message);
  const ms = Number(r.headers.get('retry-after-ms'));
  check(ms > 0 && ms <= 200, 'retry-after-ms: when a token is back (<= 1/5 s)', ms);
  eq([r.headers.get('retry-after'), r.headers.get('x-ratelimit-remaining-requests')], ['1', '0'], 'retry-after rounded up to seconds');
  check(/^\d+ms$|^1s$/.test(r.headers.get('x-ratelimit-reset-requests')), 'x-ratelimit-reset-requests duration', r.headers.get('x-ratelimit-reset-requests'));
  const other = await api('GET', '/vector_stores');
  eq([other.status, other.headers.get('x-ratelimit-limit-requests')], [200, null], 'other classes not limited');
  await sleep(ms + 20);
  eq((await search(vs.id, { query: 'x' })).status, 200, 'after retry-after-ms: allowed again');
  const st = (await ctl('GET', '/stats')).json.requests['POST /v1/vector_stores/{id}/search'];
  eq([st['200'], st['429']], [6, 1], '429s counted in stats');
  const lg = (await ctl('GET', '/requests')).json.requests.filter((x) => x.status === 429);
  eq(lg.length, 1, '429 in the request log');
  // default gives every class its own bucket
  await ctl('POST', '/config', { rate_limit: { default: 2 } });
  const sts = [];
  for (const p of ['/vector_stores', '/vector_stores', '/vector_stores', '/files', '/files']) sts.push((await api('GET', p)).status);
  eq(sts, [200, 200, 429, 429, 429], 'default: list class (/files and /vector_stores) shares one bucket');
  eq((await api('GET', `/vector_stores/${vs.id}`)).status, 200, 'default: retrieve has its own bucket');
  await ctl('POST', '/config', { rate_limit: {} });
  for (let i = 0; i < 10; i++) await api('GET', '/files');
  eq((await api('GET', '/files')).status, 200, 'empty rate_limit: no limits');
  isErr(await ctl('POST', '/config', { rate_limit: { upload: -5 } }), 400, 'rate_limit.upload', 'negative rate');
  isErr(await ctl('POST', '/config', { rate_limit: { uploads: 5 } }), 400, 'rate_limit.uploads', 'unknown class');
  // fractional limits: burst 1
  await ctl('POST', '/config', { rate_limit: { list: 0.5 } });
  const a1 = await api('GET', '/files');
  const a2 = await api('GET', '/files');
  eq([a1.status, a2.status, a1.headers.get('x-ratelimit-limit-requests')], [200, 429, '0.5'], 'rate 0.5/s: burst of 1');
  check(Number(a2.headers.get('retry-after-ms')) > 1000 && a2.headers.get('retry-after') === '2', '0.5/s: retry-after 2 s', [a2.headers.get('retry-after-ms'), a2.headers.get('retry-after')]);
  await ctl('POST', '/reset');
  eq((await ctl('GET', '/config')).json.rate_limit.list, 0, 'reset restores rate limits');
});

// ------------------------------------------- extra instances (flags)
async function startInstance(args) {
  const dir = mkdtempSync(join(tmpdir(), 'vse-'));
  const pf = join(dir, 'port');
  const p = spawn(process.env.EMU_BIN, ['--port', '0', '--port-file', pf, '--quiet', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let line = '';
  p.stdout.on('data', (d) => { line += d; });
  for (let i = 0; i < 100 && !existsSync(pf); i++) await sleep(20);
  const port = Number(readFileSync(pf, 'utf8').trim());
  await sleep(20);
  return { p, port, line: () => line, base: `http://127.0.0.1:${port}` };
}
if (process.env.EMU_BIN) {
  await section('flags', async () => {
    const a = await startInstance(['--api-key', 'sk-secret', '--fault', 'kind=503,count=1,route=/files']);
    try {
      eq(a.line(), `vectorstore-emulator listening on http://127.0.0.1:${a.port}\n`, 'listening line on stdout');
      const no = await req('GET', a.base + '/v1/vector_stores');
      eq([no.status, no.json.error.code, no.json.error.type, no.json.error.param], [401, null, 'invalid_request_error', null], 'missing key -> 401, code null like the real service');
      check(/^You didn't provide an API key\. /.test(no.json.error.message), 'missing key: the real message', no.json.error.message);
      const wrong = await req('GET', a.base + '/v1/vector_stores', undefined, { authorization: 'Bearer nope' });
      eq([wrong.status, wrong.json.error], [401, { message: 'Incorrect API key provided: nope. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' }], 'wrong key -> 401 echoing the whole key sent');
      const ok = await req('GET', a.base + '/v1/vector_stores', undefined, { authorization: 'Bearer sk-secret' });
      eq(ok.status, 200, 'right key -> 200');
      eq((await req('GET', a.base + '/_emulator/health')).status, 200, 'control needs no key');
      const f1 = await req('GET', a.base + '/v1/files', undefined, { authorization: 'Bearer sk-secret' });
      const f2 = await req('GET', a.base + '/v1/files', undefined, { authorization: 'Bearer sk-secret' });
      eq([f1.status, f2.status], [503, 200], '--fault kind=503,count=1 applies once');
    } finally {
      a.p.kill('SIGTERM');
    }
    const code = await new Promise((ok) => a.p.on('exit', (c) => ok(c)));
    eq(code, 0, 'SIGTERM -> clean exit 0');
  });

  await section('flags: 401 shapes, Azure auth', async () => {
    const KEY = 'sk-az-SECRET-42';
    const a = await startInstance(['--azure', '--api-key', KEY]);
    try {
      const AV = '?api-version=2024-10-21';
      const cfg = (await req('GET', a.base + '/_emulator/config')).json;
      eq([cfg.azure, cfg.api_key_required], [true, true], '--azure shown in config (the key itself is not)');
      check(!JSON.stringify(cfg).includes(KEY), 'config does not reveal the key');
      const A = (p, h) => req('GET', a.base + '/openai' + p, undefined, h);
      eq((await A('/vector_stores' + AV, { 'api-key': KEY })).status, 200, 'azure: api-key -> 200');
      const both = await A('/vector_stores' + AV, { 'api-key': KEY, authorization: 'Bearer ' + KEY });
      eq(both.status, 200, 'azure: api-key + bearer (what new OpenAI({defaultHeaders:{api-key}}) sends) -> 200');
      const wrong = await A('/vector_stores' + AV, { 'api-key': 'sk-wrong-SECRET' });
      eq([wrong.status, wrong.json.error.code, wrong.json.error.type, wrong.json.error.param], [401, '401', 'invalid_request_error', null], 'azure: wrong api-key -> 401 code "401"');
      check(wrong.json.error.message.startsWith('Access denied due to invalid subscription key or wrong API endpoint.') &&
        wrong.json.error.message.includes('sk-wrong-SECRET'), 'azure: Azure message, the key sent echoed', wrong.json.error.message);
      const bearer = await A('/vector_stores' + AV, { authorization: 'Bearer ' + KEY });
      check(bearer.status === 401 && bearer.json.error.message.startsWith('Unauthorized. Access token is missing, invalid') &&
        bearer.json.error.message.includes(KEY), 'azure: Authorization: Bearer refused (Entra token message)', bearer.json);
      const none = await A('/vector_stores' + AV);
      check(none.status === 401 && none.json.error.message.startsWith('Access denied due to missing subscription key.'), 'azure: no key -> 401', none.json);
      eq((await A('/vector_stores', { 'api-key': 'x' })).status, 400, 'azure: api-version checked before the key');
      eq((await req('GET', a.base + '/v1/vector_stores', undefined, { authorization: 'Bearer ' + KEY })).status, 200, '/v1 in Azure mode: bearer -> 200');
      eq((await req('GET', a.base + '/v1/vector_stores', undefined, { 'api-key': KEY })).status, 401, '/v1 in Azure mode: api-key alone is not OpenAI auth');
      const r = await req('GET', a.base + '/v1/vector_stores', undefined, { authorization: 'bearer ' + KEY });
      eq(r.status, 200, 'auth scheme is case-insensitive');
      await req('POST', a.base + '/_emulator/faults', { kind: 'echo_secrets', count: 1, status: 403 });
      const e = await A('/files' + AV, { 'api-key': KEY, 'OpenAI-Project': 'proj-SECRET' });
      check(e.status === 403 && e.json.error.param.includes(KEY) && e.json.error.param.includes('proj-SECRET'), 'echo_secrets before auth, on Azure paths', e.json);
    } finally {
      a.p.kill('SIGTERM');
    }
    eq(await new Promise((ok) => a.p.on('exit', (c) => ok(c))), 0, 'azure instance: clean exit');
  });

  await section('flags: modes, latency, request log on the command line', async () => {
    const a = await startInstance(['--lenient', '--latency', 'search=100,list=40,default=5', '--rate-limit', 'upload=200,search=50',
      '--request-log', '2', '--fault', 'kind=echo_secrets,count=1,route=/files,status=418']);
    try {
      const cfg = (await req('GET', a.base + '/_emulator/config')).json;
      eq([cfg.lenient, cfg.azure, cfg.latency.search, cfg.latency.list, cfg.latency.upload, cfg.latency.default, cfg.rate_limit.upload, cfg.rate_limit.search, cfg.rate_limit.list, cfg.request_log],
        [true, false, 100, 40, 5, 5, 200, 50, 0, 2], 'flags shown in config');
      eq((await req('POST', a.base + '/v1/vector_stores', { embedding_model: 'm' })).json.embedding_model, 'm', '--lenient');
      const e = await req('GET', a.base + '/v1/files');
      eq(e.status, 418, '--fault kind=echo_secrets,status=418');
      await req('POST', a.base + '/_emulator/config', { latency: {}, rate_limit: {}, lenient: false, request_log: 5 });
      await req('POST', a.base + '/_emulator/reset');
      const c2 = (await req('GET', a.base + '/_emulator/config')).json;
      eq([c2.lenient, c2.latency.search, c2.rate_limit.upload], [true, 100, 200], 'reset restores the command-line values');
      // SIGTERM interrupts a request waiting out its latency
      await req('POST', a.base + '/_emulator/config', { latency: { default: 20000 } });
      const pending = fetch(a.base + '/v1/files').then((x) => x.status, () => 'error');
      await sleep(150);
      const t0 = Date.now();
      a.p.kill('SIGTERM');
      const code = await new Promise((ok) => a.p.on('exit', (c) => ok(c)));
      check(code === 0 && Date.now() - t0 < 3000, 'SIGTERM during a latency wait: clean and prompt exit', [code, Date.now() - t0]);
      await pending;
    } finally {
      a.p.kill('SIGTERM');
    }
  });

  await section('flags: bad values', async () => {
    const bad = async (args) => {
      const p = spawn(process.env.EMU_BIN, ['--port', '0', '--quiet', ...args], { stdio: 'ignore' });
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      const code = await new Promise((ok) => p.on('exit', (c) => ok(c)));
      clearTimeout(t);
      return code;
    };
    eq(await bad(['--latency', 'serach=5']), 2, '--latency unknown class -> exit 2');
    eq(await bad(['--latency', 'search=1.5']), 2, '--latency fractional -> exit 2');
    eq(await bad(['--rate-limit', 'upload=x']), 2, '--rate-limit bad number -> exit 2');
    eq(await bad(['--rate-limit', 'upload']), 2, '--rate-limit missing = -> exit 2');
    eq(await bad(['--request-log', '-1']), 2, '--request-log -1 -> exit 2');
    eq(await bad(['--fault', 'kind=echo_secrets,status=1000']), 2, '--fault bad status -> exit 2');
  });

  // A client at the limit sees no 429; one at twice the limit about half.
  await section('flags: rate limit precision', async () => {
    const a = await startInstance(['--rate-limit', 'upload=200']);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const boundary = 'vse-rate-boundary';
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.txt"\r\nContent-Type: text/plain\r\n\r\nrate\r\n--${boundary}--\r\n`);
    const one = () => new Promise((ok) => {
      const rq = http.request(a.base + '/v1/files', { method: 'POST', agent, headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode));
      });
      rq.on('error', () => ok('error'));
      rq.end(body);
    });
    // fires `rate` requests per second for `secs` seconds on a fixed schedule
    const pace = async (rate, secs) => {
      const n = Math.round(rate * secs), out = [], t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const due = t0 + (i * 1000) / rate - performance.now();
        if (due > 1) await sleep(due);
        out.push(one());
      }
      const st = await Promise.all(out);
      return { ok: st.filter((s) => s === 201 || s === 200).length, limited: st.filter((s) => s === 429).length, other: st.filter((s) => s !== 200 && s !== 429).length, secs: (performance.now() - t0) / 1000 };
    };
    try {
      const steady = await pace(200, 3);
      eq([steady.limited, steady.other], [0, 0], `200/s for 3 s at a limit of 200/s: no 429 (${steady.ok} ok)`);
      // drain the bucket (until refusals start), then twice the limit
      for (let i = 0; i < 100; i++) {
        const st = await Promise.all(Array.from({ length: 50 }, one));
        if (st.includes(429)) break;
      }
      const twice = await pace(400, 3);
      const frac = twice.limited / (twice.ok + twice.limited);
      console.log(`rate limit precision: steady ${JSON.stringify(steady)}, twice ${JSON.stringify(twice)}`);
      check(frac > 0.4 && frac < 0.6 && twice.other === 0, `400/s for 3 s at 200/s: about half refused (${twice.limited} of ${twice.ok + twice.limited})`, twice);
      check(twice.ok <= Math.ceil(200 * twice.secs) + 50, 'never more than the limit allows (rate x time, bucket drained)', twice);
      const st = (await req('GET', a.base + '/_emulator/stats')).json.requests['POST /v1/files'];
      eq(st['429'] > 0 && st['200'] > 0, true, 'precision run visible in the stats');
    } finally {
      agent.destroy();
      a.p.kill('SIGTERM');
    }
    eq(await new Promise((ok) => a.p.on('exit', (c) => ok(c))), 0, 'rate instance: clean exit');
  });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
