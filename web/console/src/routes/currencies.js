import { Coin } from '@element-plus/icons-vue'

export default [
  { path: 'currencies', name: 'currencies', component: () => import('../pages/Currencies.vue'), meta: { title: 'menu.currencies', icon: Coin, menu: true, order: 72 } },
]
