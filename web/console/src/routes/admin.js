import { Key, Shop, UserFilled } from '@element-plus/icons-vue'

export default [
  { path: 'merchants', name: 'merchants', component: () => import('../pages/Merchants.vue'), meta: { title: 'menu.merchants', icon: Shop, menu: true, order: 80 } },
  { path: 'operators', name: 'operators', component: () => import('../pages/Operators.vue'), meta: { title: 'menu.operators', icon: UserFilled, menu: true, order: 81, roles: ['admin'] } },
  { path: 'api-keys', name: 'api-keys', component: () => import('../pages/ApiKeys.vue'), meta: { title: 'menu.apiKeys', icon: Key, menu: true, order: 82, roles: ['admin'] } },
]
