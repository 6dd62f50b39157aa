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
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
