// The official SDK as a user would score a batch of questions: one search per
// question, all at once (Promise.all) or one after the other (a for loop).
//   node sdk-questions.mjs BASE_URL STORE_ID all|seq QUESTIONS_FILE
// Prints "seconds results" (wall time from the first request to the last answer).
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const [baseURL, storeId, mode, file] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'sk-bench' });
const questions = readFileSync(file, 'utf8').split('\n').filter((q) => q.length > 0);
const search = (query) => client.vectorStores.search(storeId, { query, max_num_results: 5 });

const t0 = performance.now();
let pages;
if (mode === 'all') {
  pages = await Promise.all(questions.map(search));
} else {
  pages = [];
  for (const q of questions) pages.push(await search(q));
}
const seconds = (performance.now() - t0) / 1000;
console.log(`${seconds} ${pages.reduce((n, p) => n + p.data.length, 0)}`);
