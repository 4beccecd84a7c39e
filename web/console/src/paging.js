// usePaging loads a cursor-paged list: load(params) starts at the first
// page, next/prev walk it.
import { ref, computed } from 'vue'
import * as api from './api.js'

export function usePaging(path, limit = 20) {
  const rows = ref([])
  const loading = ref(false)
  const error = ref(null)
  const stack = ref([]) // cursors of the pages shown so far ('' first)
  const nextCursor = ref('')
  let params = {}

  async function fetchPage(cursor) {
    loading.value = true
    error.value = null
    try {
      const p = typeof path === 'function' ? path() : path
      const body = await api.get(p, { ...params, limit, cursor })
      rows.value = body.data || []
      nextCursor.value = body.next_cursor || ''
      return true
    } catch (e) {
      error.value = e
      rows.value = []
      nextCursor.value = ''
      return false
    } finally {
      loading.value = false
    }
  }
  async function load(p = params) {
    params = p
    stack.value = ['']
    await fetchPage('')
  }
  async function next() {
    if (!nextCursor.value) return
    const c = nextCursor.value
    if (await fetchPage(c)) stack.value.push(c)
  }
  async function prev() {
    if (stack.value.length < 2) return
    stack.value.pop()
    await fetchPage(stack.value[stack.value.length - 1])
  }
  const reload = () => fetchPage(stack.value[stack.value.length - 1] || '')
  return { rows, loading, error, load, next, prev, reload, hasNext: computed(() => !!nextCursor.value), hasPrev: computed(() => stack.value.length > 1) }
}
