import { createI18n } from 'vue-i18n'
import { Locale } from 'vant'
import vantZh from 'vant/es/locale/lang/zh-CN'
import vantEn from 'vant/es/locale/lang/en-US'
import zhCN from './locales/zh-CN.json'
import en from './locales/en.json'

const KEY = 'jifen.member.locale'
export const locales = ['zh-CN', 'en']

function saved() {
  try {
    const l = localStorage.getItem(KEY)
    return locales.includes(l) ? l : ''
  } catch {
    return ''
  }
}

export const i18n = createI18n({
  legacy: false,
  locale: saved() || 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
  missingWarn: false,
  fallbackWarn: false,
})

function apply(l) {
  Locale.use(l === 'en' ? 'en-US' : 'zh-CN', l === 'en' ? vantEn : vantZh)
  document.documentElement.lang = l
  document.title = i18n.global.t('app.title')
}

export function setLocale(l) {
  i18n.global.locale.value = l
  try {
    localStorage.setItem(KEY, l)
  } catch {
    // the choice lasts the page
  }
  apply(l)
}

apply(i18n.global.locale.value)
