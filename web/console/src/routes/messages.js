import { Message, Document, ChatLineRound } from '@element-plus/icons-vue'

export default [
  { path: 'channels', name: 'channels', component: () => import('../pages/Channels.vue'), meta: { title: 'messaging.menuChannels', icon: ChatLineRound, menu: true, order: 85, roles: ['admin'] } },
  { path: 'message-templates', name: 'message-templates', component: () => import('../pages/MessageTemplates.vue'), meta: { title: 'messaging.menuTemplates', icon: Document, menu: true, order: 86, roles: ['admin'] } },
  { path: 'messages', name: 'messages', component: () => import('../pages/Messages.vue'), meta: { title: 'messaging.menuLog', icon: Message, menu: true, order: 87, roles: ['admin'] } },
]
