-- wrk: POST /collection/v1_0/requesttopay with a fresh X-Reference-Id per request (after
-- reference-id.lua; the body and the other headers are set in wrk.body and wrk.headers before).
function request()
  wrk.headers["X-Reference-Id"] = next_reference_id()
  return wrk.format("POST", "/collection/v1_0/requesttopay")
end
