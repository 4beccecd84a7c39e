import { DataLine } from '@element-plus/icons-vue'

export default [
  { path: 'dashboard', name: 'dashboard', component: () => import('../pages/Dashboard.vue'), meta: { title: 'menu.dashboard', icon: DataLine, menu: true, order: 10 } },
]
