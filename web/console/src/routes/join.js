import { Iphone } from '@element-plus/icons-vue'

export default [
  { path: 'join', name: 'join', component: () => import('../pages/JoinLinks.vue'), meta: { title: 'join.menu', icon: Iphone, menu: true, order: 88, roles: ['admin', 'merchant'] } },
]
