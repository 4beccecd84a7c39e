// Numbers, money and dates as the member reads them: points with the
// locale's thousands separators, money from fen, and times in the
// programme's timezone (GET /v1/program → timezone), not the phone's.
import { i18n } from './i18n'
import { state } from './store'

const cache = new Map()
function fmt(kind, opts) {
  const locale = i18n.global.locale.value
  const key = `${kind}|${locale}|${JSON.stringify(opts)}`
  let f = cache.get(key)
  if (!f) {
    f = kind === 'n' ? new Intl.NumberFormat(locale, opts) : new Intl.DateTimeFormat(locale, opts)
    cache.set(key, f)
  }
  return f
}

export function timeZone() {
  return state.program?.timezone || 'Asia/Shanghai'
}

export function points(n) {
  return fmt('n', { maximumFractionDigits: 0 }).format(n ?? 0)
}

// money shows fen as yuan (or the programme's currency), without ".00"
// when the amount is whole: ¥5, ¥9.90.
export function money(fen, currency) {
  const whole = (fen ?? 0) % 100 === 0
  return fmt('n', {
    style: 'currency',
    currency: currency || state.program?.currency || 'CNY',
    currencyDisplay: 'narrowSymbol',
    minimumFractionDigits: whole ? 0 : 2,
    maximumFractionDigits: 2,
  }).format((fen ?? 0) / 100)
}

export function percent(decimal) {
  const x = Number(decimal)
  if (!Number.isFinite(x)) return ''
  return fmt('n', { style: 'percent', maximumFractionDigits: 2 }).format(x)
}

// dateTime formats an RFC 3339 instant in the programme's timezone.
export function dateTime(iso) {
  if (!iso) return ''
  return fmt('d', {
    timeZone: timeZone(), year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(iso))
}

export function date(iso) {
  if (!iso) return ''
  return fmt('d', { timeZone: timeZone(), year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso))
}

// localDate formats a programme-local calendar date "YYYY-MM-DD" as it
// is, with no timezone arithmetic.
export function localDate(ymd) {
  if (!ymd) return ''
  return fmt('d', { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(`${ymd}T00:00:00Z`))
}

export function shortLocalDate(ymd) {
  if (!ymd) return ''
  return fmt('d', { timeZone: 'UTC', month: 'numeric', day: 'numeric' }).format(new Date(`${ymd}T00:00:00Z`))
}

// today is the programme-local date "YYYY-MM-DD" of an instant (now by
// default): the day a check-in counts for.
export function today(at = new Date()) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timeZone(), year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(at)
  const get = (t) => parts.find((p) => p.type === t).value
  return `${get('year')}-${get('month')}-${get('day')}`
}

// addDays moves a "YYYY-MM-DD" date by n calendar days.
export function addDays(ymd, n) {
  const d = new Date(`${ymd}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}

// countdown is "d hh:mm:ss" (or "hh:mm:ss") until ms milliseconds pass.
export function countdown(ms) {
  const s = Math.max(0, Math.floor(ms / 1000))
  const d = Math.floor(s / 86400)
  const hh = String(Math.floor((s % 86400) / 3600)).padStart(2, '0')
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  const t = `${hh}:${mm}:${ss}`
  return d > 0 ? i18n.global.t('time.daysAnd', { d, t }) : t
}
