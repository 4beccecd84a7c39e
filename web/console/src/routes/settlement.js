import { Wallet } from '@element-plus/icons-vue'

export default [
  { path: 'statements', name: 'statements', component: () => import('../pages/Statements.vue'), meta: { title: 'menu.settlement', icon: Wallet, menu: true, order: 78 } },
  { path: 'statements/:id', name: 'statement', component: () => import('../pages/Statement.vue'), meta: { title: 'settlement.detail', active: 'statements', order: 79 } },
]
