// A one-line summary of a rule's reward for lists.
import { t } from './i18n.js'
import { points } from './format.js'

export function rewardText(r) {
  if (!r) return '—'
  switch (r.kind) {
    case 'fixed': return t('rules.summary.fixed', { n: points(r.points) })
    case 'per_amount': return t('rules.summary.perAmount', { per: (r.per / 100).toString(), n: points(r.points) }) + (r.brackets && r.brackets.length ? ` · ${t('rules.brackets')}` : '') + (r.category_multipliers && Object.keys(r.category_multipliers).length ? ` · ${t('rules.categoryMultipliers')}` : '')
    case 'expression': return t('rules.summary.expression', { e: r.points })
    default: return r.kind
  }
}
