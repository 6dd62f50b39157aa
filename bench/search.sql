SELECT count(*) FROM vectorstore.vs_search(':store', 'refund policy', max_num_results => 5);
