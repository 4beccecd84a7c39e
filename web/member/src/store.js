// What every screen shares: the programme, the member, its balance and
// the tiers, loaded once and refreshed after anything that moves points.
import { reactive } from 'vue'
import { get } from './api'

export const state = reactive({
  program: null,
  member: null,
  balance: null,
  tiers: [],
  loaded: false,
  error: null,
})

export async function loadAll() {
  state.error = null
  try {
    const [program, member, balance, tiers] = await Promise.all([
      get('/v1/program'),
      get('/v1/members/me'),
      get('/v1/members/me/balance'),
      get('/v1/tiers'),
    ])
    Object.assign(state, { program, member, balance, tiers: Array.isArray(tiers) ? tiers : tiers.data || [] })
    state.loaded = true
  } catch (e) {
    state.error = e
  }
}

export async function refreshBalance() {
  const [member, balance] = await Promise.all([get('/v1/members/me'), get('/v1/members/me/balance')])
  state.member = member
  state.balance = balance
}

export function available() {
  return state.balance?.points?.available ?? 0
}
