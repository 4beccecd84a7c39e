import { Notebook } from '@element-plus/icons-vue'

export default [
  { path: 'audit', name: 'audit', component: () => import('../pages/Audit.vue'), meta: { title: 'audit.title', icon: Notebook, menu: true, order: 88, roles: ['admin'] } },
]
