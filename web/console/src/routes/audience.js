import { DataAnalysis } from '@element-plus/icons-vue'

export default [
  { path: 'audience', name: 'audience', component: () => import('../pages/Audience.vue'), meta: { title: 'menu.audience', icon: DataAnalysis, menu: true, order: 25 } },
]
