import { User } from '@element-plus/icons-vue'

export default [
  { path: 'members', name: 'members', component: () => import('../pages/Members.vue'), meta: { title: 'menu.members', icon: User, menu: true, order: 20 } },
  { path: 'members/:id', name: 'member', component: () => import('../pages/Member.vue'), meta: { title: 'member.title', active: 'members', order: 21 } },
]
