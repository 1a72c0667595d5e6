//! The Lua scripts the store runs, each atomically: the budget's leaky bucket on the store's
//! own clock (so instances' clocks never matter), operating-time pauses, claims, the sweeper's
//! lease and the table's versions.

/// KEYS: bucket, pauses. ARGV: drain per second, burst, longest wait (ms).
/// Answers `{wait_ms, level, method, until, …}`: `wait_ms` ≥ 0 is a slot held from now and
/// usable that long from now; a negative one is a refusal, the next slot freeing up after
/// `-wait_ms`. `level` is the bucket after the take. Pauses past their end are dropped.
pub const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0') or 0
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '') or now
if at < now then
  level = math.max(0, level - (now - at) / 1000 * rate)
  at = now
end
local wait = 0
local over = level + 1 - burst
if over > 0 then wait = math.ceil(over / rate * 1000) end
local answer
if wait > max_wait then
  answer = -wait
else
  level = level + 1
  answer = wait
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(level / rate * 1000) + 60000)
local out = {answer, tostring(level)}
local pauses = redis.call('HGETALL', KEYS[2])
local now_s = math.floor(now / 1000)
for i = 1, #pauses, 2 do
  if (tonumber(pauses[i + 1]) or 0) > now_s then
    table.insert(out, pauses[i])
    table.insert(out, pauses[i + 1])
  else
    redis.call('HDEL', KEYS[2], pauses[i])
  end
end
return out
";

/// KEYS: pauses. ARGV: method, until (Unix seconds). Keeps the later end.
pub const PAUSE: &str = r"
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], 900)
return 1
";

/// KEYS: a claim, its answer. ARGV: this instance, hold (ms), the stale window (ms). 1 when
/// this instance now holds the claim; 0 when another does, or a fresh answer is there already
/// (it landed after the instance looked for it: more of it is left than the stale window).
pub const CLAIM: &str = r"
if redis.call('PTTL', KEYS[2]) > tonumber(ARGV[3]) then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
";

/// KEYS: a claim. ARGV: this instance. Gives the claim up only if it is still this one's.
pub const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// KEYS: the lease. ARGV: this instance, hold (ms). 1 when this instance holds it now.
pub const HOLD: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// KEYS: table, version. ARGV: the version known. `{}` when none is stored, `{version}` when
/// it is the one known, `{version, table}` otherwise.
pub const LOAD_TABLE: &str = r"
local version = redis.call('GET', KEYS[2])
if not version then return {} end
if version == ARGV[1] then return {version} end
return {version, redis.call('GET', KEYS[1])}
";

/// KEYS: table, version. ARGV: the table, its version (unique to this save). Both change
/// together.
pub const SAVE_TABLE: &str = r"
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1
";
