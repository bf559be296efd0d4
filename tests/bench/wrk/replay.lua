-- wrk script of tests/bench/bench_http.py: replays pre-built requests, counts statuses and
-- prints one line "BENCH_JSON {...}" at the end.
--
--   wrk ... -s replay.lua URL -- FILE OFFSET THREADS    (FILE: one request a line,
--                                                       "path<TAB>header<TAB>value<TAB>body")
--   wrk ... -s replay.lua URL -- GET PATH              (the same GET every time)
--
-- Thread t of n takes lines OFFSET+t, OFFSET+t+n, ... so no two requests repeat a line (an
-- event id, a person) until a thread has used up its share; then it starts again and counts
-- a wrap, which the bench reports.

local threads = {}
local started = 0

function setup(thread)
  thread:set("tid", started)
  started = started + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  sent = 0
  wraps = 0
  requests = {}
  if args[1] == "GET" then
    requests[1] = wrk.format("GET", args[2] or "/")
    return
  end
  local offset, stride = tonumber(args[2] or "0"), tonumber(args[3] or "1")
  local i = 0
  for line in io.lines(args[1]) do
    if i >= offset and (i - offset) % stride == tid then
      local path, name, value, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path,
        { [name] = value, ["Content-Type"] = "application/json" }, body)
    end
    i = i + 1
  end
end

function request()
  sent = sent + 1
  local index = (sent - 1) % #requests + 1
  if index == 1 and sent > 1 then
    wraps = wraps + 1
  end
  return requests[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, most_sent, total_wraps = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    most_sent = math.max(most_sent, thread:get("sent"))
    total_wraps = total_wraps + thread:get("wraps")
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "statuses": {%s}, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "consumed": %d, "wraps": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout, most_sent * #threads,
    total_wraps))
end
