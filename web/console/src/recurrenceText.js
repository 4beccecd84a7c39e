// A short description of a rule's recurrence for lists: 每周三 / Wednesdays,
// 每月 8、18 日, 每年 6月18日、12月1日–12月12日, with the hours when it keeps
// to part of the day.
import { t, i18n } from './i18n.js'

// monthDay shows "MM-DD" in the console's language (6月18日, Jun 18); the
// year is a leap one so 02-29 is a date.
function monthDay(md) {
  const m = /^(\d\d)-(\d\d)$/.exec(md)
  if (!m) return md
  const d = new Date(Date.UTC(2024, Number(m[1]) - 1, Number(m[2])))
  return new Intl.DateTimeFormat(i18n.global.locale.value, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d)
}

function dateText(s) {
  const r = /^(\d\d-\d\d)\.\.(\d\d-\d\d)$/.exec(s)
  return r ? `${monthDay(r[1])}–${monthDay(r[2])}` : monthDay(s)
}

export function recurrenceText(r) {
  if (!r || !r.kind) return ''
  const sep = t('rules.rec.summary.sep')
  let text
  switch (r.kind) {
    case 'weekly': text = t('rules.rec.summary.weekly', { days: (r.weekdays || []).map((d) => t(`rules.rec.summary.weekdayShort.${d}`)).join(sep) }); break
    case 'monthly': text = t('rules.rec.summary.monthly', { days: (r.days || []).join(sep) }); break
    case 'yearly': text = t('rules.rec.summary.yearly', { dates: (r.dates || []).map(dateText).join(sep) }); break
    default: text = r.kind
  }
  if (r.from && r.to) text = t('rules.rec.summary.time', { text, from: r.from, to: r.to })
  return text
}
