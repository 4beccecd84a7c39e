// The programme's point currencies (GET /v1/currencies), for pickers and
// names; points and growth always exist.
import * as api from './api.js'
import { t, i18n } from './i18n.js'

export async function loadCurrencies() {
  try {
    const body = await api.get('/v1/currencies')
    const rows = Array.isArray(body) ? body : body.data || []
    if (rows.length) return rows
  } catch { /* the built-in two */ }
  return [{ code: 'points', name: '', spendable: true }, { code: 'growth', name: '', spendable: false }]
}

// currencyLabel: the built-in ones in the operator's language, others by
// their name.
export function currencyLabel(c) {
  const code = typeof c === 'string' ? c : c.code
  if (i18n.global.te(`currency.${code}`)) return t(`currency.${code}`)
  return (typeof c === 'object' && c.name) || code
}
