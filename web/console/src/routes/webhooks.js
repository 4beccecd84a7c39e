import { Connection } from '@element-plus/icons-vue'

export default [
  { path: 'webhooks', name: 'webhooks', component: () => import('../pages/Webhooks.vue'), meta: { title: 'menu.webhooks', icon: Connection, menu: true, order: 83, roles: ['admin'] } },
  { path: 'webhooks/:id', name: 'webhook', component: () => import('../pages/WebhookDeliveries.vue'), meta: { title: 'webhooks.deliveries', active: 'webhooks', order: 84, roles: ['admin'] } },
]
