// Expiry policies between the API's shape and the picker's.
import { t } from './i18n.js'

// toPicker: {kind, days?, years?} → {kind, days, years} with defaults.
export function toPicker(e) {
  const x = e || { kind: 'never' }
  return { kind: x.kind || 'never', days: x.days ?? 365, years: x.years ?? 1 }
}

// fromPicker keeps only the field its kind uses.
export function fromPicker(p) {
  const out = { kind: p.kind }
  if (p.kind === 'rolling') out.days = p.days
  if (p.kind === 'end_of_year') out.years = p.years
  return out
}

export function expiryText(e) {
  if (!e || !e.kind) return '—'
  if (e.kind === 'rolling') return t('expiry.rolling', { n: e.days })
  if (e.kind === 'end_of_year') return t('expiry.endOfYear', { n: e.years })
  return t('settings.expiryKinds.never')
}
