-- wrk: the request vs_search and the SDK send, POST /v1/vector_stores/{id}/search.
-- VS_ID comes from the environment (bench/run.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"refund policy","max_num_results":5}'
local path = "/v1/vector_stores/" .. os.getenv("VS_ID") .. "/search"
request = function()
  return wrk.format(nil, path)
end
