import { createRouter, createWebHistory } from 'vue-router'
import Home from './views/Home.vue'
import Mall from './views/Mall.vue'
import Coupons from './views/Coupons.vue'
import Lottery from './views/Lottery.vue'
import Me from './views/Me.vue'
import Exchange from './views/Exchange.vue'
import Join from './views/Join.vue'

export const router = createRouter({
  history: createWebHistory('/m/'),
  routes: [
    { path: '/', name: 'home', component: Home, meta: { title: 'tabs.home' } },
    { path: '/mall', name: 'mall', component: Mall, meta: { title: 'tabs.mall' } },
    { path: '/coupons', name: 'coupons', component: Coupons, meta: { title: 'tabs.coupons' } },
    { path: '/lottery', name: 'lottery', component: Lottery, meta: { title: 'lottery.title' } },
    { path: '/exchange', name: 'exchange', component: Exchange, meta: { title: 'exchange.title' } },
    { path: '/join', name: 'join', component: Join, meta: { title: 'join.title' } },
    { path: '/me', name: 'me', component: Me, meta: { title: 'tabs.me' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
  scrollBehavior: () => ({ top: 0 }),
})
