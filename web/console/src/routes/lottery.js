import { Aim } from '@element-plus/icons-vue'

export default [
  { path: 'lotteries', name: 'lotteries', component: () => import('../pages/Lotteries.vue'), meta: { title: 'menu.lotteries', icon: Aim, menu: true, order: 60 } },
  { path: 'lotteries/:id', name: 'lottery', component: () => import('../pages/Lottery.vue'), meta: { title: 'lottery.detail', active: 'lotteries', order: 61 } },
]
