import { Setting } from '@element-plus/icons-vue'

export default [
  { path: 'settings', name: 'settings', component: () => import('../pages/Settings.vue'), meta: { title: 'menu.settings', icon: Setting, menu: true, order: 70, roles: ['admin'] } },
]
