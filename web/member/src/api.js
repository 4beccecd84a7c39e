// The one way the page talks to Jifen: fetch with the member token, JSON
// in and out, an Idempotency-Key on every POST, and problem+json errors
// turned into ApiError. A 401 ends the session (the page then asks the
// member to open it again from the app).
import { session, endSession } from './session'

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.status = status
    this.code = problem.code || ''
    this.title = problem.title || ''
    this.detail = problem.detail || ''
    this.errors = problem.errors || []
  }
}

// idempotencyKey is a random UUID; crypto.randomUUID exists only in
// secure contexts, so plain-HTTP deployments get one from getRandomValues.
function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' }
  if (!opts.public) headers.Authorization = `Bearer ${session.token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method === 'POST') headers['Idempotency-Key'] = opts.key || idempotencyKey()
  let res
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    })
  } catch {
    throw new ApiError(0, { code: 'network' })
  }
  if (res.status === 204) return null
  const text = await res.text()
  let data = {}
  try {
    data = text ? JSON.parse(text) : {}
  } catch {
    data = {}
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.public) endSession(data.code === 'token_expired' ? 'expired' : 'invalid')
    throw new ApiError(res.status, data)
  }
  return data
}

export const get = (path) => request('GET', path)
export const post = (path, body = {}) => request('POST', path, body)
// publicPost calls a route that takes no token (the join routes); key,
// when given, is its Idempotency-Key (the same for a resubmission).
export const publicPost = (path, body, key) => request('POST', path, body, { public: true, key })
export { idempotencyKey }
export const patch = (path, body) => request('PATCH', path, body)

// query builds "?a=1&b=2" from the defined values.
export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v)
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}
