// The token leaves the address bar before anything else runs.
import './session'
import { createApp } from 'vue'
import 'vant/es/style/base.css'
import './style.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'

createApp(App).use(i18n).use(router).mount('#app')
