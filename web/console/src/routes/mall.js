import { Present, Tickets } from '@element-plus/icons-vue'

export default [
  { path: 'rewards', name: 'rewards', component: () => import('../pages/Rewards.vue'), meta: { title: 'menu.rewards', icon: Present, menu: true, order: 40 } },
  { path: 'redemptions', name: 'redemptions', component: () => import('../pages/Redemptions.vue'), meta: { title: 'menu.redemptions', icon: Tickets, menu: true, order: 41 } },
]
