-- Soak workload for bench/soak.sh: a storefront's mix of record, list, product and Bitrix
-- calls, with unknown and invalid ids and every sandbox fault id, paced by delay().
--
--   wrk ... -s bench/soak.lua URL -- CODE PHASE PAUSE_MS
--
-- CODE: the sandbox's webhook code; every answer (body and headers) is searched for it.
-- PHASE: "normal", or "blocking" to add the operating-time fault ids (below), which pause the
--   gateway's portal calls for up to ten minutes (so they only come in the run's last phase).
-- PAUSE_MS: each connection waits about this long between requests (caps the rate).
-- done() prints "status N COUNT", "leaks N" and "sent N" lines for soak.sh.
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

local function pick(list)
  return list[math.random(#list)]
end

-- Ids 1..300 exist; a storefront reads a few of them far more often than the rest. Unknown
-- ids come from 2,000 records (400..2399) and 1,000 products (9000..9999): nearly all are
-- asked for within the warm-up, so the caches stop growing before the measured part.
local function record_id()
  local id = math.floor(300 ^ math.random())
  if id < 1 then id = 1 end
  return id
end

-- Fault ids, drawn three ways:
-- - 990010, 990027 and 990028 answer OPERATION_TIME_LIMIT, and the gateway then pauses every
--   portal call until the announced reset (for 990010 alone 2 s, but inside a batch the latest
--   reset of any command counts: the sandbox's ten-minute window): the last phase only;
-- - 990008 answers QUERY_LIMIT_EXCEEDED, and the gateway then counts its portal budget as
--   spent until it drains (1 s at soak.sh's settings): once per thread every 20 s;
-- - slow (990001) and trickle (990002) hold a connection for the whole upstream deadline:
--   rarely; the rest often.
local blocking_faults = { 990010, 990027, 990028 }
local quick_faults = {}
for id = 990003, 990031 do
  if id ~= 990008 and id ~= 990010 and id ~= 990027 and id ~= 990028 then
    table.insert(quick_faults, id)
  end
end

local json = { ["Content-Type"] = "application/json" }
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local function get(path)
  return wrk.format("GET", path)
end

local function id_list(n, top)
  local seen, ids = {}, {}
  while #ids < n do
    local id = math.random(top)
    if not seen[id] then
      seen[id] = true
      table.insert(ids, tostring(id))
    end
  end
  return table.concat(ids, ",")
end

local function batch_body(ids)
  local cmd = {}
  for i, id in ipairs(ids) do
    table.insert(cmd, string.format('"k%d":"catalog.storeproduct.get?id=%s"', i, id))
  end
  return '{"halt":0,"cmd":{' .. table.concat(cmd, ",") .. "}}"
end

local invalid = {
  function() return get("/v1/store-products/abc") end,
  function() return get("/v1/store-products/0") end,
  function() return get("/v1/store-products/-5") end,
  function() return get("/v1/store-products/01") end,
  function() return get("/v1/store-products/2147483648") end,
  function() return get("/v1/store-products/%20" .. record_id()) end,
  function() return get("/v1/store-products?ids=1,,2") end,
  function() return get("/v1/store-products?ids=" .. id_list(51, 300)) end,
  function() return get("/v1/store-products?id=1&ids=2") end,
  function() return get("/v1/products/x/stock") end,
  function() return get("/v1/nothing") end,
  function() return wrk.format("DELETE", "/v1/store-products/13") end,
  function() return wrk.format("POST", "/catalog.storeproduct.get", json, '{"id":"x"}') end,
  function() return wrk.format("POST", "/catalog.storeproduct.get", json, '{"id":1') end,
  function() return wrk.format("POST", "/catalog.storeproduct.get", { ["Content-Type"] = "text/plain" }, "id=1") end,
  function() return wrk.format("POST", "/batch", json, '{"cmd":{"a":"crm.deal.list"}}') end,
  function() return wrk.format("POST", "/batch", json, '{"cmd":{"a":"catalog.storeproduct.get?id=$result[b]"}}') end,
}

-- { weight, request } pairs; weights are parts per 1000.
local mix = {
  { 531, function() return get("/v1/store-products/" .. record_id()) end },
  { 40, function() return get("/v1/store-products?id=" .. record_id()) end },
  { 80, function() return get("/v1/store-products?ids=" .. id_list(math.random(2, 10), 320)) end },
  { 40, function() return get("/v1/products/6973/stock") end },
  { 20, function() return get("/v1/products/8000/stock") end },
  { 20, function() return get("/v1/products/" .. math.random(9000, 9999) .. "/stock") end },
  { 40, function() return wrk.format("POST", "/catalog.storeproduct.get", json, '{"id":' .. record_id() .. "}") end },
  { 15, function() return wrk.format("POST", "/rest/1/public/catalog.storeproduct.get.json", form, "id=" .. record_id()) end },
  { 45, function()
      local ids = {}
      for i = 1, math.random(2, 6) do ids[i] = record_id() end
      if math.random(4) == 1 then ids[#ids + 1] = pick(quick_faults) end
      return wrk.format("POST", "/batch", json, batch_body(ids))
    end },
  { 40, function() return get("/v1/store-products/" .. math.random(400, 2399)) end },
  { 50, function() return pick(invalid)() end },
  { 78, function() return get("/v1/store-products/" .. pick(quick_faults)) end },
  { 1, function() return get("/v1/store-products/" .. pick({ 990001, 990002 })) end },
}

function init(args)
  code = args[1]
  phase = args[2] or "normal"
  pause_ms = tonumber(args[3] or "30")
  statuses, leaks, sent = {}, 0, 0
  next_busy = os.time() + 3 * thread_number
  math.randomseed(os.time() * 100 + thread_number)
  total_weight = 0
  for _, entry in ipairs(mix) do total_weight = total_weight + entry[1] end
end

function delay()
  return math.random(math.floor(pause_ms / 2), math.floor(pause_ms * 3 / 2))
end

function request()
  sent = sent + 1
  if os.time() >= next_busy then
    next_busy = os.time() + 20
    return get("/v1/store-products/990008")
  end
  if phase == "blocking" and math.random(200) == 1 then
    return get("/v1/store-products/" .. pick(blocking_faults))
  end
  local roll = math.random(total_weight)
  for _, entry in ipairs(mix) do
    roll = roll - entry[1]
    if roll <= 0 then return entry[2]() end
  end
  return mix[1][2]()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if body and string.find(body, code, 1, true) then leaks = leaks + 1 end
  for name, value in pairs(headers) do
    if string.find(name, code, 1, true) or string.find(value, code, 1, true) then
      leaks = leaks + 1
    end
  end
end

function done(summary, latency, requests)
  local total, leaked, sent_all = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    leaked = leaked + thread:get("leaks")
    sent_all = sent_all + thread:get("sent")
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
  io.write(string.format("leaks %d\nsent %d\n", leaked, sent_all))
end
