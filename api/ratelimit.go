package api

import (
	"sync"
	"time"
)

// limiter is a set of token buckets by key (a token id, a client
// address): each holds up to burst tokens and refills at rate per second.
// Idle full buckets are dropped, so the set stays small.
type limiter struct {
	rate, burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	ops     int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

// refill returns key's bucket brought up to now. Callers hold mu.
func (l *limiter) refill(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	l.ops++
	if l.ops%4096 == 0 {
		for k, o := range l.buckets {
			if o != b && o.tokens+now.Sub(o.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	return b
}

// take consumes one token of key's bucket. When the bucket is empty it
// consumes nothing and returns false with the seconds until a token is
// available.
func (l *limiter) take(key string, now time.Time) (bool, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, (1 - b.tokens) / l.rate
}

// allowed reports, without consuming, whether key's bucket holds a token.
func (l *limiter) allowed(key string, now time.Time) (bool, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, (1 - b.tokens) / l.rate
}
