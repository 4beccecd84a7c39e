import { showFailToast } from 'vant'
import 'vant/es/toast/style'
import { i18n } from './i18n'

// Codes the member can act on get a sentence of their own; any other
// problem shows the API's detail.
const known = ['insufficient_points', 'out_of_stock', 'limit_exceeded', 'not_started', 'ended', 'forbidden', 'network', 'rate_limited', 'unavailable', 'otp_invalid', 'otp_expired', 'not_found']

export function errorText(e) {
  const { t } = i18n.global
  if (e?.code && known.includes(e.code)) return t(`errors.${e.code}`)
  return e?.detail || e?.title || t('errors.generic')
}

// showError toasts an API error; a 401 says nothing, as the page is
// already showing the session-ended screen.
export function showError(e) {
  if (e?.status === 401) return
  showFailToast({ message: errorText(e), wordBreak: 'break-word', duration: 3000 })
}
