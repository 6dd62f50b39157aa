// sdk-conformance.mjs - drives every Files / Vector Stores operation through
// the official `openai` npm package, unchanged except baseURL and apiKey.
//
// Env:
//   OPENAI_BASE_URL   base URL the SDK talks to (emulator .../v1, or a proxy root)
//   OPENAI_API_KEY    key (default "sk-test")
//   EMULATOR_URL      emulator root for /_emulator control calls
//                     (default: OPENAI_BASE_URL without a trailing /v1)
//   PROXIED=1         running through the validating proxy: skip the
//                     error-path checks (Prism cannot validate undeclared 4xx)
// Prints "N passed, N failed" and exits 1 on any failure.
import OpenAI, { toFile, NotFoundError } from 'openai';
import { readFileSync } from 'node:fs';

const SDK_VERSION = JSON.parse(readFileSync(new URL('./node_modules/openai/package.json', import.meta.url))).version;

const BASE = process.env.OPENAI_BASE_URL;
if (!BASE) {
  console.error('OPENAI_BASE_URL is required');
  process.exit(2);
}
const CONTROL = (process.env.EMULATOR_URL || BASE.replace(/\/v1\/?$/, '')).replace(/\/$/, '');
const PROXIED = process.env.PROXIED === '1';
// Records Prism's `sl-violations` response headers (proxied run) so that
// contract.sh can fail on them; harmless against the emulator directly.
const slViolations = [];
async function recordingFetch(url, init) {
  const res = await fetch(url, init);
  const v = res.headers.get('sl-violations');
  if (v) slViolations.push(`${init && init.method ? init.method : 'GET'} ${url} ${v}`);
  return res;
}
const client = new OpenAI({
  baseURL: BASE,
  apiKey: process.env.OPENAI_API_KEY || 'sk-test',
  maxRetries: 0,
  fetch: recordingFetch,
});

let passed = 0;
let failed = 0;
function check(cond, what, extra) {
  if (cond) passed++;
  else {
    failed++;
    console.log(`FAIL: ${what}${extra !== undefined ? ' -- ' + JSON.stringify(extra) : ''}`);
  }
}
const eq = (a, b, what) => check(JSON.stringify(a) === JSON.stringify(b), `${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);

async function control(path, body, method = 'POST') {
  const r = await fetch(CONTROL + '/_emulator' + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return r.json();
}

const tag = 'sdk-' + Date.now() + '-' + Math.floor(Math.random() * 1e6);
const text = (s) => toFile(Buffer.from(s, 'utf8'), 'doc.txt');

async function section(name, fn) {
  try {
    await fn();
  } catch (e) {
    failed++;
    console.log(`FAIL: section ${name} threw: ${e && e.stack ? e.stack : e}`);
  }
}

await control('/config', { processing_delay_ms: 50 });

// ---------------------------------------------------------------- files
let fileA;
await section('files', async () => {
  // Through Prism the multipart body is re-encoded as UTF-8 text, so the
  // proxied run uploads ASCII + NUL only (still not a text file).
  const bytes = PROXIED ? Buffer.from('alpha beta\u0000gamma binary bytes', 'latin1')
    : Buffer.from('alpha beta\u0000gamma binary \xff bytes', 'latin1');
  const f = await client.files.create({ file: await toFile(bytes, 'bin.dat'), purpose: 'assistants' });
  check(/^file-/.test(f.id), 'files.create id prefix', f.id);
  eq(f.object, 'file', 'files.create object');
  eq(f.bytes, bytes.length, 'files.create bytes');
  eq(f.filename, 'bin.dat', 'files.create filename');
  eq(f.purpose, 'assistants', 'files.create purpose');
  eq(f.status, 'processed', 'files.create status');

  const g = await client.files.retrieve(f.id);
  eq(g.id, f.id, 'files.retrieve id');
  eq(g.bytes, bytes.length, 'files.retrieve bytes');

  // The spec declares /files/{id}/content as application/json while the
  // service sends raw bytes (CONTRACT.md 5.8); Prism --errors turns that into
  // a 500, so the proxied run fetches the content from the emulator directly.
  const content = PROXIED
    ? Buffer.from(await (await fetch(`${CONTROL}/v1/files/${f.id}/content`)).arrayBuffer())
    : Buffer.from(await (await client.files.content(f.id)).arrayBuffer());
  check(content.equals(bytes), 'files.content round-trips binary bytes exactly');

  const exp = await client.files.create({
    file: await text('expiring'),
    purpose: 'user_data',
    expires_after: { anchor: 'created_at', seconds: 3600 },
  });
  eq(exp.expires_at, exp.created_at + 3600, 'files.create expires_after -> expires_at');

  const seen = [];
  for await (const x of client.files.list({ purpose: 'user_data' })) seen.push(x.id);
  check(seen.includes(exp.id) && !seen.includes(f.id), 'files.list purpose filter', seen.length);

  const del = await client.files.delete(exp.id);
  eq([del.id, del.object, del.deleted], [exp.id, 'file', true], 'files.delete response');
  if (!PROXIED) {
    let nf = null;
    try { await client.files.retrieve(exp.id); } catch (e) { nf = e; }
    check(nf instanceof NotFoundError, 'files.retrieve after delete -> 404');
  }

  if (typeof client.files.createAndPoll === 'function') {
    const p = await client.files.createAndPoll({ file: await text('poll me'), purpose: 'assistants' });
    eq(p.status, 'processed', 'files.createAndPoll status');
  } else {
    console.log('SKIP: files.createAndPoll does not exist in openai ' + SDK_VERSION +
      '; exercising files.waitForProcessing instead');
    const w = await client.files.waitForProcessing(f.id, { pollInterval: 10 });
    eq(w.status, 'processed', 'files.waitForProcessing status');
  }
  fileA = f;
});

// --------------------------------------------------------- vector stores
let vs;
await section('vector stores', async () => {
  vs = await client.vectorStores.create({
    name: 'docs ' + tag,
    description: 'conformance store',
    metadata: { tag, owner: 'sdk' },
    expires_after: { anchor: 'last_active_at', days: 7 },
  });
  check(/^vs_/.test(vs.id), 'vectorStores.create id prefix', vs.id);
  eq(vs.object, 'vector_store', 'vectorStores.create object');
  eq(vs.name, 'docs ' + tag, 'vectorStores.create name');
  eq(vs.metadata, { tag, owner: 'sdk' }, 'vectorStores.create metadata');
  eq(vs.expires_after, { anchor: 'last_active_at', days: 7 }, 'vectorStores.create expires_after');
  eq(vs.expires_at, vs.last_active_at + 7 * 86400, 'vectorStores.create expires_at');
  eq(vs.file_counts, { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }, 'empty file_counts');
  eq(vs.status, 'completed', 'empty store status');

  const r = await client.vectorStores.retrieve(vs.id);
  eq([r.id, r.name, r.usage_bytes], [vs.id, vs.name, 0], 'vectorStores.retrieve');

  const u = await client.vectorStores.update(vs.id, { name: 'renamed ' + tag, metadata: { tag, v: '2' } });
  eq([u.name, u.metadata], ['renamed ' + tag, { tag, v: '2' }], 'vectorStores.update name+metadata');
  const u2 = await client.vectorStores.update(vs.id, { expires_after: null });
  check(u2.expires_at === null && u2.expires_after === undefined, 'vectorStores.update expires_after null removes policy', u2);
  eq(u2.name, 'renamed ' + tag, 'vectorStores.update keeps name');

  // auto-paging: 25 stores, pages of 10
  const mine = [];
  for (let i = 0; i < 25; i++) {
    mine.push((await client.vectorStores.create({ name: `page-${i}`, metadata: { tag: tag + '-page' } })).id);
  }
  const seen = [];
  let pages = 0;
  let page = await client.vectorStores.list({ limit: 10 });
  for (;;) {
    pages++;
    for (const s of page.data) if (s.metadata && s.metadata.tag === tag + '-page') seen.push(s.id);
    if (!page.hasNextPage()) break;
    page = await page.getNextPage();
  }
  check(pages >= 3, 'page-by-page fetched >= 3 pages', pages);
  eq(seen, [...mine].reverse(), 'page-by-page: each store exactly once, newest first');
  const auto = [];
  for await (const s of client.vectorStores.list({ limit: 10 })) {
    if (s.metadata && s.metadata.tag === tag + '-page') auto.push(s.id);
  }
  eq(auto, [...mine].reverse(), 'for-await auto-paging: each store exactly once, newest first');
  const asc = [];
  for await (const s of client.vectorStores.list({ limit: 10, order: 'asc' })) {
    if (s.metadata && s.metadata.tag === tag + '-page') asc.push(s.id);
  }
  eq(asc, mine, 'auto-paging asc order');
  for (const id of mine) {
    const d = await client.vectorStores.delete(id);
    if (!(d.deleted && d.id === id && d.object === 'vector_store.deleted')) check(false, 'vectorStores.delete', d);
  }
  passed++;
  if (!PROXIED) {
    let nf = null;
    try { await client.vectorStores.retrieve(mine[0]); } catch (e) { nf = e; }
    check(nf instanceof NotFoundError, 'vectorStores.retrieve after delete -> 404');
  }
});

// ---------------------------------------------------- vector store files
await section('vector store files', async () => {
  const doc = await client.files.create({ file: await text('refund policy: refunds within 30 days'), purpose: 'assistants' });
  const vf = await client.vectorStores.files.create(vs.id, {
    file_id: doc.id,
    attributes: { lang: 'en', year: 2024, public: true },
    chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } },
  });
  eq([vf.id, vf.object, vf.vector_store_id], [doc.id, 'vector_store.file', vs.id], 'vectorStores.files.create');
  eq(vf.status, 'in_progress', 'vectorStores.files.create status in_progress');
  eq(vf.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } }, 'static chunking echoed');

  const polled = await client.vectorStores.files.poll(vs.id, doc.id);
  eq(polled.status, 'completed', 'vectorStores.files.poll -> completed');
  const got = await client.vectorStores.files.retrieve(doc.id, { vector_store_id: vs.id });
  eq([got.status, got.attributes, got.last_error], ['completed', { lang: 'en', year: 2024, public: true }, null], 'vectorStores.files.retrieve');
  eq(got.usage_bytes, doc.bytes, 'vector store file usage_bytes');

  const upd = await client.vectorStores.files.update(doc.id, { vector_store_id: vs.id, attributes: { lang: 'de', year: 2020 } });
  eq(upd.attributes, { lang: 'de', year: 2020 }, 'vectorStores.files.update attributes');

  const cp = await client.vectorStores.files.createAndPoll(vs.id, { file_id: fileA.id });
  eq(cp.status, 'failed', 'createAndPoll on binary file -> failed');
  eq(cp.last_error && cp.last_error.code, 'unsupported_file', 'failed file last_error.code');

  const up = await client.vectorStores.files.uploadAndPoll(vs.id, await text('shipping takes five days'));
  eq(up.status, 'completed', 'vectorStores.files.uploadAndPoll status');
  eq(up.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } }, 'auto chunking resolves to 800/400');

  const failedList = [];
  for await (const x of client.vectorStores.files.list(vs.id, { filter: 'failed' })) failedList.push(x.id);
  eq(failedList, [fileA.id], 'vectorStores.files.list filter=failed');
  const all = [];
  for await (const x of client.vectorStores.files.list(vs.id, { limit: 1 })) all.push(x.id);
  eq(all, [up.id, fileA.id, doc.id], 'vectorStores.files.list limit=1 auto-paging, newest first');

  const pages = [];
  for await (const c of client.vectorStores.files.content(doc.id, { vector_store_id: vs.id })) pages.push(c);
  eq(pages, [{ type: 'text', text: 'refund policy: refunds within 30 days' }], 'vectorStores.files.content');

  const store = await client.vectorStores.retrieve(vs.id);
  eq(store.file_counts, { in_progress: 0, completed: 2, failed: 1, cancelled: 0, total: 3 }, 'store file_counts');
  eq(store.usage_bytes, doc.bytes + up.usage_bytes, 'store usage_bytes = completed bytes');

  const del = await client.vectorStores.files.delete(up.id, { vector_store_id: vs.id });
  eq([del.id, del.object, del.deleted], [up.id, 'vector_store.file.deleted', true], 'vectorStores.files.delete');
  const still = await client.files.retrieve(up.id);
  eq(still.id, up.id, 'detached file still exists in /files');
});

// ---------------------------------------------------------- file batches
await section('file batches', async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await client.files.create({ file: await text(`batch doc ${i} apples`), purpose: 'assistants' })).id);
  const b = await client.vectorStores.fileBatches.create(vs.id, { file_ids: ids, attributes: { src: 'batch' } });
  check(/^vsfb_/.test(b.id), 'fileBatches.create id prefix', b.id);
  eq([b.object, b.vector_store_id, b.status], ['vector_store.files_batch', vs.id, 'in_progress'], 'fileBatches.create');
  eq(b.file_counts.total, 3, 'fileBatches.create total');
  const done = await client.vectorStores.fileBatches.poll(vs.id, b.id);
  eq([done.status, done.file_counts.completed], ['completed', 3], 'fileBatches.poll completed');
  const r = await client.vectorStores.fileBatches.retrieve(b.id, { vector_store_id: vs.id });
  eq(r.id, b.id, 'fileBatches.retrieve id');
  const listed = [];
  for await (const f of client.vectorStores.fileBatches.listFiles(b.id, { vector_store_id: vs.id, limit: 2 })) listed.push(f);
  eq(listed.map((f) => f.id), [...ids].reverse(), 'fileBatches.listFiles all files, newest first');
  check(listed.every((f) => f.attributes && f.attributes.src === 'batch'), 'batch attributes applied to file_ids');
  const onlyDone = [];
  for await (const f of client.vectorStores.fileBatches.listFiles(b.id, { vector_store_id: vs.id, filter: 'completed' })) onlyDone.push(f.id);
  eq(onlyDone.length, 3, 'fileBatches.listFiles filter=completed');

  // per-file attributes with `files`
  const c = await client.vectorStores.fileBatches.createAndPoll(vs.id, {
    files: [
      { file_id: ids[0], attributes: { x: 1 } },
      { file_id: (await client.files.create({ file: await text('pears'), purpose: 'assistants' })).id, attributes: { x: 2 } },
    ],
  });
  eq([c.status, c.file_counts.total], ['completed', 2], 'fileBatches.createAndPoll with files');

  const u = await client.vectorStores.fileBatches.uploadAndPoll(vs.id, {
    files: [await text('uploaded one'), await text('uploaded two')],
    fileIds: [],
  });
  eq([u.status, u.file_counts.completed, u.file_counts.total], ['completed', 2, 2], 'fileBatches.uploadAndPoll');

  // cancel: keep files in progress long enough
  await control('/config', { processing_delay_ms: 60000 });
  const slow = (await client.files.create({ file: await text('slow'), purpose: 'assistants' })).id;
  const sb = await client.vectorStores.fileBatches.create(vs.id, { file_ids: [slow] });
  const cancelled = await client.vectorStores.fileBatches.cancel(sb.id, { vector_store_id: vs.id });
  eq([cancelled.status, cancelled.file_counts.cancelled, cancelled.file_counts.in_progress], ['cancelled', 1, 0], 'fileBatches.cancel');
  await control('/config', { processing_delay_ms: 50 });
  const cf = await client.vectorStores.files.retrieve(slow, { vector_store_id: vs.id });
  eq(cf.status, 'cancelled', 'cancelled batch file status');
});

// ---------------------------------------------------------------- search
await section('search', async () => {
  const s = await client.vectorStores.create({ name: 'search ' + tag });
  const docs = [
    ['the cat sat on the mat. cats are great.', { lang: 'en', year: 2021, kind: 'pet', pub: true }],
    ['cat cat cat cat everywhere', { lang: 'en', year: 2023, kind: 'pet', pub: false }],
    ['dogs bark at night', { lang: 'en', year: 2019, kind: 'pet', pub: true }],
    ['die katze schläft', { lang: 'de', year: 2024, kind: 'pet', pub: true }],
  ];
  const ids = [];
  for (const [t, attributes] of docs) {
    const f = await client.files.create({ file: await toFile(Buffer.from(t), 'd.txt'), purpose: 'assistants' });
    ids.push(f.id);
    const r = await client.vectorStores.files.createAndPoll(s.id, { file_id: f.id, attributes });
    if (r.status !== 'completed') check(false, 'search doc completed', r);
  }
  const page = await client.vectorStores.search(s.id, { query: 'cat', max_num_results: 10 });
  const res = page.data;
  eq(res.map((x) => x.file_id), [ids[1], ids[0]], 'search ranks the cat-heavy doc first');
  check(res.every((x) => x.score > 0 && x.score <= 1), 'scores within (0,1]', res.map((x) => x.score));
  check(res[0].score > res[1].score, 'scores strictly ordered');
  eq(res[0].content, [{ type: 'text', text: 'cat cat cat cat everywhere' }], 'search content');
  eq(res[0].attributes.year, 2023, 'search attributes');
  eq(res[0].filename, 'd.txt', 'search filename');

  const arr = await client.vectorStores.search(s.id, { query: ['dogs', 'katze'] });
  eq(arr.data.map((x) => x.file_id).sort(), [ids[2], ids[3]].sort(), 'array query matches both');

  const nested = await client.vectorStores.search(s.id, {
    query: ['cat', 'dogs', 'katze'],
    filters: {
      type: 'and',
      filters: [
        { type: 'eq', key: 'kind', value: 'pet' },
        { type: 'or', filters: [
          { type: 'gte', key: 'year', value: 2023 },
          { type: 'in', key: 'lang', value: ['xx', 'yy'] },
          { type: 'and', filters: [{ type: 'eq', key: 'pub', value: true }, { type: 'lt', key: 'year', value: 2020 }] },
        ] },
        { type: 'nin', key: 'lang', value: ['de'] },
      ],
    },
  });
  eq(nested.data.map((x) => x.file_id).sort(), [ids[1], ids[2]].sort(), 'nested and/or filters');

  const top1 = await client.vectorStores.search(s.id, { query: 'cat', max_num_results: 1 });
  eq(top1.data.map((x) => x.file_id), [ids[1]], 'max_num_results=1');
  const thr = await client.vectorStores.search(s.id, {
    query: 'cat',
    ranking_options: { ranker: 'auto', score_threshold: (res[0].score + res[1].score) / 2 },
  });
  eq(thr.data.map((x) => x.file_id), [ids[1]], 'score_threshold drops weaker result');
  const rw = await client.vectorStores.search(s.id, { query: 'What is the CAT?', rewrite_query: true });
  eq(rw.data.length, 2, 'rewrite_query search finds cat docs');
  const none = await client.vectorStores.search(s.id, { query: 'zebra' });
  eq(none.data.length, 0, 'no match -> empty data');
  await client.vectorStores.delete(s.id);
});

await section('cleanup', async () => {
  const d = await client.vectorStores.delete(vs.id);
  eq(d.deleted, true, 'final delete');
  const fd = await client.files.delete(fileA.id);
  eq(fd.deleted, true, 'file delete');
});

for (const v of slViolations) console.log('SL-VIOLATIONS: ' + v);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
