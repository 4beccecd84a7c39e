// The campaign form: a campaign to the fields the form edits, and back to
// the body of POST/PATCH /v1/campaigns.
import { toInstant } from './format.js'

export const blankAction = () => ({ kind: 'grant_points', points: 100, coupon_template_id: '', channel_id: '', template_id: '' })

export function campaignForm(c) {
  if (!c) return { name: '', segment_id: '', on: 'once', days: 30, to: '', at: '', control_percent: 10, budget: null, conversion_days: 14, actions: [blankAction()] }
  const s = c.schedule || {}
  return {
    name: c.name, segment_id: c.segment_id || '', on: s.kind === 'trigger' ? s.on : 'once', days: s.days || 30, to: s.to || '', at: '',
    control_percent: c.control_percent, budget: c.budget, conversion_days: c.conversion?.days || 14,
    actions: (c.actions || []).map((a) => ({ ...blankAction(), ...a })),
  }
}

function action(a) {
  if (a.kind === 'grant_points') return { kind: a.kind, points: a.points }
  if (a.kind === 'issue_coupon') return { kind: a.kind, coupon_template_id: a.coupon_template_id }
  return { kind: a.kind, channel_id: a.channel_id, template_id: a.template_id }
}

export function campaignBody(f) {
  const schedule = f.on !== 'once' ? { kind: 'trigger', on: f.on } : { kind: 'once' }
  if (f.on === 'inactive' || f.on === 'points_expiring') schedule.days = f.days
  if (f.on === 'tier_changed' && f.to) schedule.to = f.to
  if (f.on === 'once' && f.at) schedule.at = toInstant(f.at)
  const b = { name: f.name, schedule, actions: f.actions.map(action), segment_id: f.segment_id || '', control_percent: f.control_percent, conversion: { days: f.conversion_days } }
  if (f.budget != null) b.budget = f.budget
  return b
}

export function scheduleText(t, s) {
  if (!s) return '—'
  if (s.kind === 'once') return t('campaigns.on.once')
  const base = t(`campaigns.on.${s.on}`)
  if (s.days) return `${base} · ${t('campaigns.daysN', { n: s.days })}`
  if (s.to) return `${base} → ${s.to}`
  return base
}
