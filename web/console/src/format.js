// How the console shows money, points and times. Times are shown in the
// programme's timezone (GET /v1/program), whatever the browser's.
import { session } from './session.js'

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const moneyFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })

export function points(n) {
  if (n === null || n === undefined || n === '') return '—'
  return intFmt.format(n)
}

// money formats fen as yuan: 123456 → ¥1,234.56.
export function money(fen) {
  if (fen === null || fen === undefined || fen === '') return '—'
  const sign = fen < 0 ? '-' : ''
  return `${sign}¥${moneyFmt.format(Math.abs(fen) / 100)}`
}

// percent turns a decimal string rate ("0.1234") into "12.34%".
export function percent(rate) {
  if (rate === null || rate === undefined || rate === '') return '—'
  return `${(Number(rate) * 100).toFixed(2)}%`
}

export function timezone() {
  return (session.program && session.program.timezone) || 'Asia/Shanghai'
}

const fmts = new Map()
function partsFormatter(tz) {
  if (!fmts.has(tz)) {
    fmts.set(tz, new Intl.DateTimeFormat('en-US', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    }))
  }
  return fmts.get(tz)
}

function parts(date, tz) {
  const p = {}
  for (const { type, value } of partsFormatter(tz).formatToParts(date)) p[type] = value
  return p
}

// dateTime shows an instant as YYYY-MM-DD HH:mm in the programme's zone.
export function dateTime(iso, withSeconds = false) {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = parts(d, timezone())
  const t = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
  return withSeconds ? `${t}:${p.second}` : t
}

// today is the programme-local date, YYYY-MM-DD.
export function today(tz = timezone()) {
  const p = parts(new Date(), tz)
  return `${p.year}-${p.month}-${p.day}`
}

export function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}

// zoneOffset is the programme zone's offset at an instant, as +08:00.
function zoneOffset(date, tz) {
  const p = parts(date, tz)
  const asUTC = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second)
  const mins = Math.round((asUTC - Math.floor(date.getTime() / 1000) * 1000) / 60000)
  const sign = mins < 0 ? '-' : '+'
  const a = Math.abs(mins)
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`
}

// toInstant reads "YYYY-MM-DD HH:mm:ss" as a wall time in the programme's
// zone and answers RFC 3339 with that zone's offset.
export function toInstant(local) {
  if (!local) return null
  const [d, t = '00:00:00'] = local.split(' ')
  const guess = new Date(`${d}T${t}Z`)
  const off = zoneOffset(guess, timezone())
  return `${d}T${t.length === 5 ? t + ':00' : t}${off}`
}

// fromInstant is the inverse: an instant as "YYYY-MM-DD HH:mm:ss" wall time.
export function fromInstant(iso) {
  if (!iso) return ''
  const p = parts(new Date(iso), timezone())
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}

export function yuanToFen(y) {
  if (y === null || y === undefined || y === '') return null
  return Math.round(Number(y) * 100)
}

export function fenToYuan(f) {
  if (f === null || f === undefined) return null
  return f / 100
}
