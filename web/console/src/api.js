// Every request of the console goes through here: the session cookie
// (same origin), the CSRF token on writes, an Idempotency-Key on POSTs that
// change state, and problem+json turned into an ApiError.

let csrfToken = ''
let onUnauthenticated = () => {}

export function setCsrfToken(token) {
  csrfToken = token || ''
}

// whenUnauthenticated(fn): fn runs on a 401 of any call but the login's.
export function whenUnauthenticated(fn) {
  onUnauthenticated = fn
}

export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.status = status
    this.code = problem.code || ''
    this.title = problem.title || ''
    this.detail = problem.detail || ''
    this.errors = Array.isArray(problem.errors) ? problem.errors : []
    this.headers = headers
  }

  // fields maps each field named by the server to its message.
  get fields() {
    const out = {}
    for (const e of this.errors) {
      if (e.field && !(e.field in out)) out[e.field] = e.message
    }
    return out
  }
}

// POSTs that only read: no Idempotency-Key.
const readOnlyPosts = [/^\/v1\/events\/simulate$/, /^\/v1\/checkout\/quote$/, /^\/v1\/coupons\/[^/]+\/validate$/, /^\/v1\/rules\/validate$/, /^\/v1\/console\/(login|logout)$/, /^\/v1\/segments\/preview$/]

function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x))
    else q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken
    if (method === 'POST' && !readOnlyPosts.some((re) => re.test(path))) {
      headers['Idempotency-Key'] = opts.idempotencyKey || uuid()
    }
  }
  const init = { method, headers, credentials: 'same-origin' }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  let res
  try {
    res = await fetch(path, init)
  } catch (e) {
    throw new ApiError(0, { code: 'network', detail: e.message })
  }
  if (res.status === 204) return null
  const type = res.headers.get('Content-Type') || ''
  const data = type.includes('json') ? await res.json().catch(() => ({})) : await res.text()
  if (!res.ok) {
    const err = new ApiError(res.status, typeof data === 'object' && data ? data : { detail: String(data) }, res.headers)
    if (res.status === 401 && !opts.noRedirect) onUnauthenticated(err)
    throw err
  }
  return data
}

export const get = (path, params, opts) => request('GET', path + query(params), undefined, opts)
export const post = (path, body, opts) => request('POST', path, body === undefined ? {} : body, opts)
export const put = (path, body, opts) => request('PUT', path, body, opts)
export const patch = (path, body, opts) => request('PATCH', path, body, opts)
export const del = (path, opts) => request('DELETE', path, undefined, opts)

// page fetches one page of a list: {data, next_cursor}.
export function page(path, params) {
  return get(path, params)
}

// list follows next_cursor until the list ends or max items are read.
export async function list(path, params = {}, max = 2000) {
  const out = []
  let cursor = ''
  do {
    const body = await get(path, { ...params, cursor, limit: params.limit || 200 })
    out.push(...(body.data || []))
    cursor = body.next_cursor || ''
  } while (cursor && out.length < max)
  return out
}

export const enc = encodeURIComponent
