// What an exchange gives, exactly as the server computes it:
// received = floor(points × rate), with the rate (a decimal string of at
// most 6 decimals) read as an integer number of millionths. No floats.
const SCALE = 1000000n

// rateMicros("1.5") → 1500000n; null when the string is not such a rate.
export function rateMicros(rate) {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(String(rate ?? '').trim())
  if (!m) return null
  return BigInt(m[1]) * SCALE + BigInt((m[2] || '').padEnd(6, '0'))
}

// received(points, rate): whole target points for whole source points.
export function received(points, rate) {
  const r = rateMicros(rate)
  if (r === null || !Number.isSafeInteger(points) || points <= 0) return 0
  return Number((BigInt(points) * r) / SCALE)
}
