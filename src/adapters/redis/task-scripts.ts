import { FINAL_TASK_STATUSES } from '../../domain/index.js';

/*
 * Each transition is one Lua script, so it is atomic: the check of the current
 * status and the write cannot interleave with another worker's. Terminal tasks
 * are returned unchanged. Every script returns HGETALL of the key afterwards
 * (empty when the task does not exist).
 */
/*
 * Creating is idempotent: ioredis re-sends a script whose reply was lost to a
 * dropped connection, and the second run must not turn into "already exists".
 * KEYS: the task, the index of recent tasks. ARGV: ttl, created_at, model,
 * id, most recent tasks kept in the index, then the fields. A record with the
 * same creation time and model is that same task (ids are random UUIDs): 1,
 * as if created now. Another record under the id: 0.
 */
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local existing = redis.call('HMGET', KEYS[1], 'created_at', 'model')
  if existing[1] == ARGV[2] and existing[2] == ARGV[3] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[5]))
return 1`;

const TERMINAL_GUARD = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {} end
if ${FINAL_TASK_STATUSES.map((final) => `status == '${final}'`).join(' or ')} then return redis.call('HGETALL', KEYS[1]) end`;

/*
 * ARGV: the start time, the most attempts. A repeat with the same start time
 * (a re-sent script) counts no second attempt, and a task that has had its
 * attempts is left as it is.
 */
export const MARK_RUNNING = `${TERMINAL_GUARD}
if status == 'running' and redis.call('HGET', KEYS[1], 'started_at') == ARGV[1] then return redis.call('HGETALL', KEYS[1]) end
if tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') >= tonumber(ARGV[2]) then return redis.call('HGETALL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return redis.call('HGETALL', KEYS[1])`;

/**
 * ARGV: ttl, the finish time, then field/value pairs to write (status, and
 * result or error). The inputs go: only the result is kept. A task finishes
 * no earlier than it last started (a late write keeps the times in order).
 */
export const FINISH = `${TERMINAL_GUARD}
local started = tonumber(redis.call('HGET', KEYS[1], 'started_at') or '0')
local finished = math.max(tonumber(ARGV[2]), started)
redis.call('HDEL', KEYS[1], 'inputs')
redis.call('HSET', KEYS[1], 'finished_at', string.format('%.0f', finished), unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])`;
