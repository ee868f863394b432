-- Replays pre-signed requests: each wrk thread reads its own shard file
-- (records of "<length>\n<raw HTTP request>") and sends every request once.
-- When a thread runs out it sends one cheap GET /bench-end (answered 404,
-- never 202, so it is told apart) and stops. done() prints one JSON line.
--   wrk -t2 -c50 -d60s -s replay.lua http://127.0.0.1:PORT -- /dir/of/shards

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("shard", counter)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1] .. "/shard" .. shard .. ".req", "rb"))
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
   ended = 0
   statuses = {}
   finish = wrk.format("GET", "/bench-end")
end

function request()
   sent = sent + 1
   if sent > nreqs then
      ended = ended + 1
      wrk.thread:stop()
      return finish
   end
   return reqs[sent]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local codes = {}
   local offered = 0
   for _, thread in ipairs(threads) do
      offered = offered + thread:get("nreqs")
      for code, n in pairs(thread:get("statuses")) do
         codes[code] = (codes[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(codes) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us":%d,"requests":%d,"offered":%d,"statuses":{%s},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.duration, summary.requests, offered, table.concat(parts, ","),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
