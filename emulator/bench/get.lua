-- wrk script: GET /v1/vector_stores/{id}
local vs = os.getenv("VS_ID")
request = function()
  return wrk.format("GET", "/v1/vector_stores/" .. vs)
end
