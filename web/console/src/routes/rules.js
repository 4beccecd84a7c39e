import { MagicStick } from '@element-plus/icons-vue'

export default [
  { path: 'rules', name: 'rules', component: () => import('../pages/Rules.vue'), meta: { title: 'menu.rules', icon: MagicStick, menu: true, order: 30 } },
  { path: 'rules/new', name: 'rule-new', component: () => import('../pages/RuleEdit.vue'), meta: { title: 'rules.new', active: 'rules', roles: ['admin', 'merchant'], order: 31 } },
  { path: 'rules/:id', name: 'rule', component: () => import('../pages/RuleEdit.vue'), meta: { title: 'rules.edit', active: 'rules', order: 32 } },
]
