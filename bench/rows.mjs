// Row i of the ingestion benchmarks; the same text as bench/rows.sql.
export const row = (i) =>
  `Row ${i}. ` + 'Our refund policy covers damaged items, late shipping and returns within thirty days. '.repeat(24);
