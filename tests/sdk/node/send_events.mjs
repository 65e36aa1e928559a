// Sends one customer journey to Relais through the official, unmodified
// Segment Node.js SDK (@segment/analytics-node).
//
//     node send_events.mjs BASE_URL WRITE_KEY RUN_ID
//
// Every call type of the tracking spec is made once, batched by the SDK
// (flushAt: 3, so the 7 calls travel as several /v1/batch requests). The ids
// carry RUN_ID so that crates/relais/tests/sdk.rs can find the profile:
//
//     anonymous id  anon-RUN_ID   (a "Product Viewed" before login, then aliased)
//     user id       user-RUN_ID
//     e-mail        RUN_ID@sdk.example.com
//     group id      org-RUN_ID
//
// Exits 0 only if every call was delivered: no 'error' event, every
// per-call callback without error, and every HTTP answer a 200.

import { Analytics } from '@segment/analytics-node'
import { createRequire } from 'node:module'

const [base, writeKey, run] = process.argv.slice(2)
if (!base || !writeKey || !run) {
  console.error('usage: node send_events.mjs BASE_URL WRITE_KEY RUN_ID')
  process.exit(2)
}
const sdkVersion = createRequire(import.meta.url)('@segment/analytics-node/package.json').version

const failures = []
const statuses = []
let delivered = 0

const analytics = new Analytics({
  writeKey,
  host: base,
  path: '/v1/batch',
  flushAt: 3,
  flushInterval: 1000,
  maxRetries: 2,
  httpRequestTimeout: 10000,
})

analytics.on('error', (err) => {
  failures.push(err)
  console.error(`segment SDK error (${err.code}):`, err.reason)
})
analytics.on('http_response', (res) => {
  statuses.push(res.status)
  if (res.status !== 200) {
    console.error(`unexpected HTTP ${res.status} ${res.statusText} from ${res.url}`)
  }
})

// The per-call callback reports the delivery of that one event.
const done = (what) => (err) => {
  if (err) {
    failures.push(err)
    console.error(`${what} not delivered:`, err)
  } else {
    delivered += 1
  }
}

const anon = `anon-${run}`
const user = `user-${run}`
const email = `${run}@sdk.example.com`

// Anonymous browsing before the customer logs in...
analytics.track(
  { anonymousId: anon, event: 'Product Viewed', properties: { product_id: 'SKU-1', price: 19.99 } },
  done('track Product Viewed'),
)
// ...then the login, the purchase and the rest of the spec.
analytics.identify(
  { userId: user, traits: { email, name: 'Ada Lovelace', plan: 'pro' } },
  done('identify'),
)
analytics.track(
  {
    userId: user,
    event: 'Order Completed',
    properties: {
      order_id: `ord-${run}`,
      total: 59.97,
      currency: 'EUR',
      products: [
        { product_id: 'SKU-1', name: 'Tea cup', price: 19.99, quantity: 2, categories: ['kitchen', 'tea'] },
        { product_id: 'SKU-2', name: 'Teapot', price: 19.99, quantity: 1, options: { colour: 'blue', engraved: true } },
      ],
      shipping: { method: 'express', address: { city: 'Lyon', country: 'FR' } },
    },
  },
  done('track Order Completed'),
)
analytics.page(
  {
    userId: user,
    category: 'Shop',
    name: 'Checkout',
    properties: { path: '/checkout', url: 'https://shop.example.com/checkout' },
  },
  done('page'),
)
analytics.screen(
  { userId: user, category: 'App', name: 'Home', properties: { tab: 'featured' } },
  done('screen'),
)
analytics.group(
  { userId: user, groupId: `org-${run}`, traits: { name: 'Analytical Engines Ltd', plan: 'enterprise' } },
  done('group'),
)
// The anonymous id seen before login belongs to this user.
analytics.alias({ userId: user, previousId: anon }, done('alias'))

const SENT = 7
await analytics.closeAndFlush({ timeout: 30000 })

if (failures.length || delivered !== SENT || statuses.length === 0 || statuses.some((s) => s !== 200)) {
  console.error(
    `delivery failed: ${delivered}/${SENT} delivered, ${failures.length} error(s), HTTP statuses [${statuses}]`,
  )
  process.exit(1)
}
console.log(
  `sent ${SENT} events in ${statuses.length} requests with @segment/analytics-node ${sdkVersion}`,
)
