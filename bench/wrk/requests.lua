-- Replays the requests listed in a file, one per line, cycling; each wrk thread takes every
-- n-th line (so two threads never send the same token at the same time).
-- Line format (tab-separated): METHOD, PATH, HEADERS ("Name: value" joined by "|", or "-"),
-- BODY (or "-"). Usage: wrk -t T ... -s bench/wrk/requests.lua URL -- LINES_FILE T
-- At the end prints one line: BENCH_JSON {...} with counts and latency percentiles (us).
-- A response is "bad" when its status is not 2xx/3xx or its body holds a GraphQL error
-- ("errors":[{ ... ), including a castBallot payload's own error list.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line, sep)
  local out = {}
  for field in string.gmatch(line .. sep, "(.-)" .. sep) do
    table.insert(out, field)
  end
  return out
end

function init(args)
  local index = tonumber(wrk.thread:get("index"))
  local nthreads = tonumber(args[2] or "1")
  reqs = {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == index % nthreads then
      local f = split(line, "\t")
      local headers = {}
      if f[3] ~= nil and f[3] ~= "-" then
        for _, h in ipairs(split(f[3], "|")) do
          local name, value = string.match(h, "^([^:]+):%s*(.*)$")
          if name then headers[name] = value end
        end
      end
      local body = nil
      if f[4] ~= nil and f[4] ~= "-" then body = f[4] end
      table.insert(reqs, wrk.format(f[1], f[2], headers, body))
    end
    n = n + 1
  end
  position = 0
  bad = 0
  sent = 0
end

function request()
  position = position % #reqs + 1
  sent = sent + 1
  return reqs[position]
end

function response(status, headers, body)
  if status >= 400 or (body ~= nil and string.find(body, '"errors":%s*%[%s*{')) then
    bad = bad + 1
    if bad <= 3 then
      io.stderr:write("bad response " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (tonumber(t:get("bad")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "bad": %d, ' ..
    '"socket_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"mean_us": %.1f, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, total_bad,
    e.connect + e.read + e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
