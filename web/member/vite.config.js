import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'
import VueI18nPlugin from '@intlify/unplugin-vue-i18n/vite'

// Vant's icon font is a data: URL (woff2) with a fallback on a CDN (woff).
// Every browser the page supports takes the woff2, so the CDN URL is
// dropped from the CSS: nothing in the build names another origin.
function vantIconFontLocal() {
  return {
    name: 'jifen-vant-icon-font-local',
    enforce: 'pre',
    transform(code, id) {
      if (!/vant[\\/](es|lib)[\\/]icon[\\/]index\.css$/.test(id)) return null
      const out = code.replace(/,\s*url\(\/\/[^)]*\)\s*format\("woff"\)/g, '')
      if (/url\((https?:)?\/\//.test(out)) {
        this.error('vant icon CSS still names another origin')
      }
      return { code: out, map: null }
    },
  }
}

export default defineConfig({
  base: '/m/',
  plugins: [
    vue(),
    vantIconFontLocal(),
    Components({ resolvers: [VantResolver()], dts: false }),
    // Messages are compiled to functions at build time and vue-i18n is the
    // runtime-only build: no message compiler (and no new Function) in
    // the page, as its Content-Security-Policy requires.
    VueI18nPlugin({
      include: [fileURLToPath(new URL('./src/locales/**', import.meta.url))],
      runtimeOnly: true,
      compositionOnly: true,
      fullInstall: false,
      strictMessage: true,
      escapeHtml: false,
    }),
  ],
  build: {
    outDir: '../../internal/webui/dist/m',
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    port: 5174,
    strictPort: true,
    // JIFEN_API points the dev server at another jifen serve.
    proxy: { '/v1': process.env.JIFEN_API || 'http://127.0.0.1:8080' },
  },
})
