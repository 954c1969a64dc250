-- wrk script: POST /collection/v1_0/requesttopay, a fresh X-Reference-Id per request (scripts/wrk-api.sh).
local counter = 0
local prefix = string.format("%08x", math.random(0, 0x7fffffff))
request = function()
  counter = counter + 1
  local id = string.format("%s-%04x-4%03x-8%03x-%012x", prefix, math.random(0, 0xffff), math.random(0, 0xfff), math.random(0, 0xfff), counter)
  wrk.headers["X-Reference-Id"] = id
  return wrk.format("POST", "/collection/v1_0/requesttopay")
end
