import { Promotion } from '@element-plus/icons-vue'

export default [
  { path: 'campaigns', name: 'campaigns', component: () => import('../pages/Campaigns.vue'), meta: { title: 'menu.campaigns', icon: Promotion, menu: true, order: 26 } },
  { path: 'campaigns/:id', name: 'campaign', component: () => import('../pages/Campaign.vue'), meta: { title: 'campaigns.detail', active: 'campaigns', order: 27 } },
]
