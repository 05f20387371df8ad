-- wrk script: POST a JSON body read from a file, optional extra headers, and print a JSON
-- summary (requests, errors, latency percentiles in microseconds) after a marker line.
--   wrk -s post.lua URL -- BODY_FILE ['Header: value' ...]
local body_file = nil
local extra = {}

function init(args)
  body_file = args[1]
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for i = 2, #args do
    local k, v = args[i]:match("^([^:]+):%s*(.*)$")
    if k then wrk.headers[k] = v end
  end
  req = wrk.format()
end

function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write("WRK_JSON ")
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"min":%d,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.min, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
