// The operator's session and the programme it works in, shared by every
// page.
import { reactive } from 'vue'
import * as api from './api.js'

export const session = reactive({
  loaded: false,
  operator: null,
  expiresAt: '',
  program: null,
})

// A marker that a session may exist, so that a first visit goes to the
// login page without asking the server (whose 401 the browser would log).
const MARK = 'jifen.console.session'
function mark(on) {
  try {
    if (on) localStorage.setItem(MARK, '1')
    else localStorage.removeItem(MARK)
  } catch { /* storage blocked */ }
}
function marked() {
  try {
    return localStorage.getItem(MARK) === '1'
  } catch {
    return true
  }
}

function take(body) {
  mark(true)
  session.operator = body.operator
  session.expiresAt = body.expires_at
  api.setCsrfToken(body.csrf_token)
}

async function loadProgram() {
  try {
    session.program = await api.get('/v1/program')
  } catch {
    session.program = null
  }
}

// load asks the server for the cookie's session once; false when there is
// none.
export async function load() {
  if (session.loaded) return !!session.operator
  if (!marked()) {
    session.loaded = true
    return false
  }
  try {
    take(await api.get('/v1/console/session', undefined, { noRedirect: true }))
    await loadProgram()
  } catch {
    session.operator = null
    mark(false)
  }
  session.loaded = true
  return !!session.operator
}

export async function login(email, password) {
  take(await api.post('/v1/console/login', { email, password }, { noRedirect: true }))
  session.loaded = true
  await loadProgram()
}

export async function logout() {
  try {
    await api.post('/v1/console/logout', undefined, { noRedirect: true })
  } finally {
    forget()
  }
}

export function forget() {
  mark(false)
  session.operator = null
  session.program = null
  api.setCsrfToken('')
}

export const role = () => (session.operator ? session.operator.role : '')
export const isAdmin = () => role() === 'admin'
// canWrite: operations (admin and merchant); readonly only reads.
export const canWrite = () => role() === 'admin' || role() === 'merchant'
export const allowed = (roles) => !roles || roles.includes(role())

export async function refreshProgram() {
  await loadProgram()
}
