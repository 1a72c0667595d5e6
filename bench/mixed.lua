-- Mixed storefront workload: ids 1..400 (303..400 do not exist), skewed so a few are hot.
-- Counts answers by status across all wrk threads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local id = math.floor(400 ^ math.random())
  if id < 1 then id = 1 end
  return wrk.format("GET", "/v1/store-products/" .. id)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
end
