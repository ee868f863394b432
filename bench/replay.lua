-- Replays pre-signed requests: each wrk thread reads its own shard file
-- (records of "<length>\n<raw HTTP request>") and sends every request once.
-- A connection that runs out waits (delay() of ten minutes) while the
-- others still wait for answers, so nothing else is sent and the latency
-- figures are those of the replayed requests only. When every request of a
-- thread has been answered the thread stops and writes <dir>/done<N>; the
-- bench then ends wrk (whose main thread otherwise sleeps out -d). done() prints one JSON line, with the span from
-- the first request sent to the last one answered.
--   wrk -t2 -c50 -d60s -s replay.lua http://127.0.0.1:PORT -- /dir/of/shards

local ffi = require("ffi")
ffi.cdef[[
   typedef struct { long tv_sec; long tv_usec; } bench_timeval;
   int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

local function now_us()
   ffi.C.gettimeofday(tv, nil)
   return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("shard", counter)
   table.insert(threads, thread)
end

function init(args)
   dir = args[1]
   local file = assert(io.open(dir .. "/shard" .. shard .. ".req", "rb"))
   local data = file:read("*a")
   file:close()
   reqs = {}
   local pos = 1
   while pos <= #data do
      local nl = data:find("\n", pos, true)
      local len = tonumber(data:sub(pos, nl - 1))
      reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
      pos = nl + 1 + len
   end
   nreqs = #reqs
   sent = 0
   answered = 0
   first_us = 0
   last_us = 0
   statuses = {}
   finish = wrk.format("GET", "/bench-end")
   -- wrk calls the first thread's request() once before the run, only to
   -- check the request's shape (script_verify_request): that call must not
   -- use up a request.
   probe = (shard == 1)
end

function delay()
   if sent >= nreqs then return 600000 end
   return 0
end

function request()
   if probe then
      probe = false
      return reqs[1] or finish
   end
   sent = sent + 1
   if sent > nreqs then return finish end
   if first_us == 0 then first_us = now_us() end
   return reqs[sent]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status ~= 404 then
      answered = answered + 1
      last_us = now_us()
      if answered >= nreqs then
         local flag = io.open(dir .. "/done" .. shard, "w")
         flag:write("done\n")
         flag:close()
         wrk.thread:stop()
      end
   end
end

function done(summary, latency, requests)
   local codes = {}
   local offered, issued, got = 0, 0, 0
   local first, last = 0, 0
   for _, thread in ipairs(threads) do
      offered = offered + thread:get("nreqs")
      issued = issued + math.min(thread:get("sent"), thread:get("nreqs"))
      got = got + thread:get("answered")
      local f, l = thread:get("first_us"), thread:get("last_us")
      if f > 0 and (first == 0 or f < first) then first = f end
      if l > last then last = l end
      for code, n in pairs(thread:get("statuses")) do
         codes[code] = (codes[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(codes) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us":%d,"span_us":%d,"requests":%d,"offered":%d,"issued":%d,' ..
      '"answered":%d,"statuses":{%s},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.duration, last - first, summary.requests, offered, issued, got,
      table.concat(parts, ","),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
