import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The console is served by the Go binary at /console/ under a
// Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval': Vue's
// templates are compiled here (runtime-only Vue), vue-i18n compiles its
// messages to an AST it interprets (no new Function), and Element Plus is
// imported per component with its CSS as files.
export default defineConfig({
  base: '/console/',
  plugins: [
    vue(),
    // dts: false — the declaration files would be written into the source
    // tree on every build.
    AutoImport({ resolvers: [ElementPlusResolver()], dts: false }),
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
  ],
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'true',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_JIT_COMPILATION__: 'true',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir: '../../internal/webui/dist/console',
    emptyOutDir: true,
    // no inline <script> for the module preload polyfill: the CSP forbids it
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8080', '/m/': 'http://127.0.0.1:8080' },
  },
})
