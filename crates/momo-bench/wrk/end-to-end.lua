-- wrk: momo-bench's end-to-end flow, a request to pay and then a read of its status, as two
-- requests in turn (after reference-id.lua; the body and headers of the create are set in wrk.body
-- and wrk.headers before). Only against the baseline, to check momo-bench's own driver: wrk sends a
-- thread's requests over all its connections, so against openmomo a read could overtake its create.
local created = nil
local read_headers = nil

function request()
  if created == nil then
    created = next_reference_id()
    wrk.headers["X-Reference-Id"] = created
    return wrk.format("POST", "/collection/v1_0/requesttopay")
  end
  if read_headers == nil then
    read_headers = {}
    for name, value in pairs(wrk.headers) do
      local lower = string.lower(name)
      if lower ~= "content-type" and lower ~= "x-callback-url" and lower ~= "x-reference-id" then
        read_headers[name] = value
      end
    end
  end
  local path = "/collection/v1_0/requesttopay/" .. created
  created = nil
  -- An empty body: wrk.format would otherwise send wrk.body with the read too.
  return wrk.format("GET", path, read_headers, "")
end
