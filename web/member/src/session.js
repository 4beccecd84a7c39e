// The member's session: the member token that arrives in the URL
// fragment (/m/#token=jmt_…), kept in sessionStorage for the life of the
// tab and taken out of the address bar at once, so it is not bookmarked,
// shared or sent as a Referer. A lottery ID may come the same way
// (#token=…&lottery=lty_…) or as ?lottery=lty_… in the query.
import { reactive } from 'vue'

const TOKEN_KEY = 'jifen.member.token'
const LOTTERY_KEY = 'jifen.member.lottery'

export const session = reactive({
  token: '',
  lotteryId: '',
  // 'none' (no token), 'expired' (token_expired) or 'invalid' (any other 401)
  ended: '',
})

function store(key, value) {
  try {
    sessionStorage.setItem(key, value)
  } catch {
    // Private modes may refuse storage; the session then lasts the page.
  }
}

function load(key) {
  try {
    return sessionStorage.getItem(key) || ''
  } catch {
    return ''
  }
}

// readSession reads the token and lottery from the address, stores them
// and cleans the address. It runs when this module loads, which main.js
// makes the first thing: before the router reads the address.
function readSession() {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''))
  const query = new URLSearchParams(location.search)
  const token = hash.get('token')
  if (token) store(TOKEN_KEY, token)
  const lottery = hash.get('lottery') || query.get('lottery')
  if (lottery && /^lty_[A-Za-z0-9]+$/.test(lottery)) store(LOTTERY_KEY, lottery)
  if (hash.has('token') || hash.has('lottery')) {
    history.replaceState(history.state, '', location.pathname + location.search)
  }
  session.token = load(TOKEN_KEY)
  session.lotteryId = load(LOTTERY_KEY)
  if (!session.token) session.ended = 'none'
}

export function endSession(kind) {
  session.ended = kind
  try {
    sessionStorage.removeItem(TOKEN_KEY)
  } catch {
    // nothing to remove
  }
}

// startSession begins a session with a token the page got itself (the
// one-step join), as if it had come in the address.
export function startSession(token) {
  store(TOKEN_KEY, token)
  session.token = token
  session.ended = ''
}

// The gift of a join, shown once on the home screen.
const GIFT_KEY = 'jifen.member.gift'
export function keepGift(gift) {
  store(GIFT_KEY, JSON.stringify(gift))
}
export function takeGift() {
  const raw = load(GIFT_KEY)
  try {
    sessionStorage.removeItem(GIFT_KEY)
  } catch {
    // nothing to remove
  }
  try {
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}

readSession()

// A new token may arrive while the page is open (the app opens the same
// address with another fragment, which does not reload the page): take it
// and start again as that session.
window.addEventListener('hashchange', () => {
  if (new URLSearchParams(location.hash.replace(/^#/, '')).has('token')) {
    readSession()
    location.reload()
  }
})
