// One route per page. Each file in routes/ adds its pages; the menu is
// built from the routes whose meta has a menu title, in meta.order.
import { createRouter, createWebHistory } from 'vue-router'
import { load, session, allowed, forget } from './session.js'
import { whenUnauthenticated } from './api.js'
import Layout from './components/Layout.vue'
import Login from './pages/Login.vue'

const files = import.meta.glob('./routes/*.js', { eager: true, import: 'default' })
export const pages = Object.values(files).flat().sort((a, b) => (a.meta.order || 0) - (b.meta.order || 0))

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', name: 'login', component: Login, meta: { public: true } },
    { path: '/', component: Layout, children: [{ path: '', redirect: { name: 'dashboard' } }, ...pages] },
    { path: '/:rest(.*)*', redirect: { name: 'dashboard' } },
  ],
})

export const menu = () => pages.filter((r) => r.meta.menu && allowed(r.meta.roles))

router.beforeEach(async (to) => {
  const ok = await load()
  if (to.meta.public) return ok && to.name === 'login' ? { name: 'dashboard' } : true
  if (!ok) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (!allowed(to.meta.roles)) return { name: 'dashboard' }
  return true
})

whenUnauthenticated(() => {
  if (!session.operator) return
  forget()
  const next = router.currentRoute.value.fullPath
  router.replace({ name: 'login', query: { next } })
})
