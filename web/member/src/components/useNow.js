import { onMounted, onUnmounted, ref } from 'vue'

// useNow is the current time, ticking once a second while the component
// lives: for countdowns.
export function useNow() {
  const now = ref(Date.now())
  let timer
  onMounted(() => {
    timer = setInterval(() => (now.value = Date.now()), 1000)
  })
  onUnmounted(() => clearInterval(timer))
  return now
}
