// useForm keeps a form's server errors: the problem, and each field's
// message for <el-form-item :error="form.errors.points">.
import { reactive, ref } from 'vue'
import { t } from './i18n.js'

export function useForm() {
  const errors = reactive({})
  const problem = ref(null)
  const busy = ref(false)
  function clear() {
    for (const k of Object.keys(errors)) delete errors[k]
    problem.value = null
  }
  // run calls fn, and on an ApiError shows it; it answers fn's value or
  // undefined on failure.
  async function run(fn, { success } = {}) {
    clear()
    busy.value = true
    try {
      const v = await fn()
      if (success) ElMessage.success(success)
      return v
    } catch (e) {
      problem.value = e
      Object.assign(errors, e.fields || {})
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { errors, problem, busy, run, clear }
}

// act runs an action outside a form and reports its outcome as a message.
export async function act(fn, success) {
  try {
    const v = await fn()
    if (success) ElMessage.success(success)
    return v ?? true
  } catch (e) {
    ElMessage.error(e.detail || e.message || t('errors.generic'))
    return undefined
  }
}
