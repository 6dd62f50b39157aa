-- wrk script: a small search against one vector store.
-- VS_ID is passed by bench/run.sh through the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"refund policy for damaged items","max_num_results":5}'
local vs = os.getenv("VS_ID")
request = function()
  return wrk.format(nil, "/v1/vector_stores/" .. vs .. "/search")
end
