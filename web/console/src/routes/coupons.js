import { Discount } from '@element-plus/icons-vue'

export default [
  { path: 'coupons', name: 'coupons', component: () => import('../pages/Coupons.vue'), meta: { title: 'menu.coupons', icon: Discount, menu: true, order: 50 } },
]
