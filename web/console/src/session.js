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

function take(body) {
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
  try {
    take(await api.get('/v1/console/session', undefined, { noRedirect: true }))
    await loadProgram()
  } catch {
    session.operator = null
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
