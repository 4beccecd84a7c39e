import { createI18n } from 'vue-i18n'
import zhCN from './locales/zh-CN.json'
import en from './locales/en.json'

const KEY = 'jifen.console.locale'
export const locales = [
  { code: 'zh-CN', label: '中文' },
  { code: 'en', label: 'English' },
]

function initial() {
  try {
    const v = localStorage.getItem(KEY)
    if (locales.some((l) => l.code === v)) return v
  } catch { /* storage blocked */ }
  return 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
  missingWarn: false,
  fallbackWarn: false,
})

export function setLocale(code) {
  i18n.global.locale.value = code
  document.documentElement.lang = code
  try {
    localStorage.setItem(KEY, code)
  } catch { /* storage blocked */ }
}

export const t = (...args) => i18n.global.t(...args)
