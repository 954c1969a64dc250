-- wrk: a fresh X-Reference-Id for each request, `next_reference_id()`, shaped as a version-4 UUID:
-- the run's prefix, the wrk thread's number, random digits, a counter. momo-bench sets `run_prefix`
-- (8 hex digits, new for each run of wrk, so that a warm-up and the measured run against the same
-- server never send the same id twice); without it (scripts/wrk-api.sh) the prefix is random.

-- setup() runs in wrk's main Lua state, once a thread; each thread's state then has its number.
local threads_set_up = 0
function setup(thread)
  threads_set_up = threads_set_up + 1
  thread:set("thread_number", threads_set_up)
end

math.randomseed(os.time())
local prefix = run_prefix or string.format("%08x", math.random(0, 0x7fffffff))
local counter = 0

function next_reference_id()
  counter = counter + 1
  return string.format("%s-%04x-4%03x-8%03x-%012x", prefix, thread_number or 0, math.random(0, 0xfff),
    math.random(0, 0xfff), counter)
end
