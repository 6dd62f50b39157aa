// The official SDK: N rows of ~2 KB into a new vector store with
// fileBatches.uploadAndPoll (default concurrency), until every file is completed.
//   node sdk-ingest.mjs BASE_URL N
// Prints "seconds completed".
import OpenAI, { toFile } from 'openai';
import { row } from './rows.mjs';

const [baseURL, n] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'sk-bench' });
const t0 = performance.now();
const store = await client.vectorStores.create({ name: 'bench-sdk' });
const files = [];
for (let i = 1; i <= Number(n); i++) files.push(await toFile(Buffer.from(row(i)), `row${i}.txt`));
const batch = await client.vectorStores.fileBatches.uploadAndPoll(store.id, { files });
const seconds = (performance.now() - t0) / 1000;
console.log(`${seconds} ${batch.file_counts.completed}`);
