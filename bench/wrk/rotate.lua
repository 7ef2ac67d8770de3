-- wrk script of `make bench-load`: rotates requests (tokens, paths, bodies) read from the
-- Lua data file named by BENCH_DATA, written by bench/bench_load.py. Each wrk thread owns
-- the entries whose index is its thread number modulo the thread count, so:
--   * "@UUID@" in a body becomes a fresh random UUID (offline creates under the phone's id);
--   * with `version` set, If-Match carries the version the thread last saw for the entry's id
--     (its start version, then the `version` of each 200 answer for that id): counting the
--     calls of request() instead sent one entry a version ahead in every pass, because wrk
--     calls request() once more than it sends; a thread's entry is never in flight twice
--     when it has more entries than connections;
--   * with `refresh` set, the body's "@TOKEN@" is a refresh token taken from a queue that
--     starts with the entry tokens and gets the new token of every successful refresh (as a
--     phone keeps the rotated token).
-- `done` prints one line, BENCH {json}, that the driver parses.

local data = dofile(os.getenv("BENCH_DATA"))
local counter = 0
-- The version last seen of each entry's id (If-Match), by the id that ends its path.
local known = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() * 7919 + tid * 104729 + (data.seed or 0))
  used = 0
  mine = {}
  for i = tid + 1, #data.entries, data.threads do
    table.insert(mine, data.entries[i])
  end
  -- A FIFO with explicit ends (the length of a table with holes is undefined in Lua).
  queue = {}
  head = 1
  tail = 0
  if data.refresh then
    for _, e in ipairs(mine) do tail = tail + 1; queue[tail] = e.token end
  end
end

local function uuid()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = (b[7] % 16) + 64
  b[9] = (b[9] % 64) + 128
  return string.format(
    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
    b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
    b[15], b[16])
end

function request()
  local e = mine[(used % #mine) + 1]
  used = used + 1
  local headers = {}
  for k, v in pairs(data.headers) do headers[k] = v end
  if e.auth then headers["Authorization"] = e.auth end
  local body = e.body
  if data.version then
    headers["If-Match"] = '"' .. (known[e.path:match("([^/]+)$")] or e.version) .. '"'
  end
  if body and data.uuid then body = body:gsub("@UUID@", uuid()) end
  if data.refresh then
    local token = queue[head]
    if token == nil then token = "exhausted" else queue[head] = nil; head = head + 1 end
    body = body:gsub("@TOKEN@", token)
  end
  return wrk.format(data.method, e.path, headers, body)
end

if data.version then
  function response(status, headers, body)
    if status == 200 then
      local id = body:match('"id":"([^"]+)"')
      local version = body:match('"version":(%d+)')
      if id and version then known[id] = tonumber(version) end
    end
  end
end

if data.refresh then
  function response(status, headers, body)
    if status == 200 then
      local token = body:match('"refresh_token":"([^"]+)"')
      if token then tail = tail + 1; queue[tail] = token end
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
