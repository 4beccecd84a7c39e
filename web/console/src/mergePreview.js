// What merging a member would move, read through the existing GET routes:
// the source member, its balances, lots with points left, active holds,
// active coupons, pending redemptions and identities.
import * as api from './api.js'

const rowsOf = (body) => (Array.isArray(body) ? body : (body && body.data) || [])

export async function mergePreview(source) {
  const m = await api.get(`/v1/members/${api.enc(source)}`)
  const id = api.enc(m.id)
  const [balance, lots, holds, coupons, redemptions, identities] = await Promise.all([
    api.get(`/v1/members/${id}/balance`),
    api.list(`/v1/members/${id}/lots`),
    api.list(`/v1/members/${id}/holds`, { status: 'held' }),
    api.list(`/v1/members/${id}/coupons`),
    api.list('/v1/redemptions', { member: m.id, status: 'pending' }),
    api.get(`/v1/members/${id}/identities`).then(rowsOf),
  ])
  const balances = Object.entries(balance || {})
    .filter(([, b]) => b && typeof b === 'object' && 'available' in b)
    .map(([currency, b]) => ({ currency, available: b.available, pending: b.pending, held: b.held, debt: b.debt }))
  return {
    member: m,
    balances,
    lots: lots.filter((l) => l.status === 'available' || l.status === 'pending').length,
    holds: holds.filter((h) => h.status === 'held').length,
    coupons: coupons.filter((c) => c.status === 'active').length,
    redemptions: redemptions.filter((r) => r.status === 'pending').length,
    identities: identities.length,
    tags: (m.tags || []).length,
  }
}
