-- Run once in the throwaway cluster by bench/run.sh.
CREATE EXTENSION vectorstore;


-- Row i of the ingestion benchmarks (~2 KB); the same text as bench/rows.mjs.
CREATE FUNCTION public.bench_row(i int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'Row ' || i || '. ' ||
         repeat('Our refund policy covers damaged items, late shipping and returns within thirty days. ', 24)
$$;

-- Document i of the search store: three sentences drawn from a small handbook.
CREATE FUNCTION public.bench_doc(i int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT format('Handbook entry %s. ', i) || string_agg(s[1 + (i * k * 7 + k) % array_length(s, 1)], ' ')
  FROM (SELECT ARRAY[
    'Customers may return any item within thirty days for a full refund.',
    'Damaged items are replaced at no cost, including return shipping.',
    'Orders ship within two business days from our central warehouse.',
    'Express delivery is available in most cities for a small fee.',
    'The warranty covers manufacturing defects for two years.',
    'Gift cards and personalised items are not eligible for a refund.',
    'Store credit never expires and can be combined with promotions.',
    'Support is available by chat and email every day of the week.',
    'Invoices can be downloaded from the orders page of your account.',
    'Our refund policy does not apply to items damaged by misuse.',
    'Prices include tax; shipping costs are shown at checkout.',
    'Accounts can be closed at any time from the privacy settings.'] AS s) a,
       generate_series(1, 3) k
$$;
