-- One GET, over and over, with an Accept header; done() prints one JSON line.
--   wrk -t2 -c50 -d20s -s get.lua http://127.0.0.1:PORT/path -- "text/html"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   if args[1] and args[1] ~= "" then wrk.headers["Accept"] = args[1] end
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local codes = {}
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses")) do
         codes[code] = (codes[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(codes) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us":%d,"requests":%d,"offered":0,"statuses":{%s},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.duration, summary.requests, table.concat(parts, ","),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
