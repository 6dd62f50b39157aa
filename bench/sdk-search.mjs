// The official SDK as a user would write it: searches in a loop for SECONDS
// (or MAX_CALLS calls), CONCURRENCY async loops sharing one client.
//   node sdk-search.mjs BASE_URL STORE_ID SECONDS [CONCURRENCY] [MAX_CALLS]
// Prints "requests/s p50_ms p99_ms".
import OpenAI from 'openai';

const [baseURL, storeId, seconds, conc = '1', maxCalls = 'Infinity'] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'sk-bench' });
const lat = [];
const start = performance.now();
const end = Number(seconds) > 0 ? start + Number(seconds) * 1000 : Infinity;
let calls = 0;

async function loop() {
  while (performance.now() < end && calls++ < Number(maxCalls)) {
    const t0 = performance.now();
    const page = await client.vectorStores.search(storeId, { query: 'refund policy', max_num_results: 5 });
    if (page.data.length === 0) throw new Error('no results');
    lat.push(performance.now() - t0);
  }
}
await Promise.all(Array.from({ length: Number(conc) }, loop));
const elapsed = (performance.now() - start) / 1000;
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
console.log(`${lat.length / elapsed} ${pct(0.5)} ${pct(0.99)}`);
