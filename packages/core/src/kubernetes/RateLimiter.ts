import { Clock, Effect } from "effect"

/**
 * A token bucket: `burst` requests at once, then `qps` a second. Callers reserve a token even when
 * the bucket is empty and sleep until it is theirs, so waiting requests go out in order and none
 * starves.
 */
export const makeRateLimiter = (qps: number, burst: number) => {
  let tokens = burst
  let last: number | undefined
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    tokens = Math.min(burst, tokens + (last === undefined ? 0 : ((now - last) * qps) / 1000))
    last = now
    tokens -= 1
    return tokens >= 0 ? Effect.void : Effect.sleep(Math.ceil((-tokens / qps) * 1000))
  })
}
