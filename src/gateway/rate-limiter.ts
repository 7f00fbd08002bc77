/**
 * Token buckets per client key (an IP address, a connection id). Buckets idle long enough to be
 * full again are pruned by `prune()` (the gateway calls it on a timer), and the map never holds
 * more than `maxKeys` buckets: past that the stalest buckets are dropped.
 */
export interface RateLimiter {
  /** Takes one token; returns 0 when allowed, else the milliseconds until a token is available. */
  take(key: string): number;
  /** The milliseconds until `key` may take a token (0 when it may now), without taking one. */
  peek(key: string): number;
  prune(): number;
  size(): number;
  configure(perSecond: number, burst: number): void;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export function createRateLimiter(options: { perSecond: number; burst: number; maxKeys?: number; now?: () => number }): RateLimiter {
  let perSecond = options.perSecond;
  let burst = options.burst;
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, at: number) => {
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = at;
  };

  return {
    take(key) {
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) {
          // Maps iterate in insertion order: the first keys are the stalest.
          const excess = buckets.size - maxKeys + 1;
          let removed = 0;
          for (const stale of buckets.keys()) {
            if (removed++ >= excess) break;
            buckets.delete(stale);
          }
        }
        bucket = { tokens: burst, updatedAt: at };
        buckets.set(key, bucket);
      } else {
        refill(bucket, at);
        // Re-insert so iteration order follows recency.
        buckets.delete(key);
        buckets.set(key, bucket);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    },
    peek(key) {
      const bucket = buckets.get(key);
      if (!bucket) return 0;
      refill(bucket, now());
      return bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    },
    prune() {
      const at = now();
      let removed = 0;
      for (const [key, bucket] of buckets) {
        refill(bucket, at);
        if (bucket.tokens >= burst) {
          buckets.delete(key);
          removed++;
        }
      }
      return removed;
    },
    size: () => buckets.size,
    configure(nextPerSecond, nextBurst) {
      perSecond = nextPerSecond;
      burst = nextBurst;
    },
  };
}
