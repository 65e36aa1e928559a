#!/usr/bin/env python3
"""Sends one customer journey to Relais through the official, unmodified
Segment Python SDK (`segment-analytics-python`, module `segment.analytics`).

    send_events.py BASE_URL WRITE_KEY RUN_ID [--gzip]

Every call type of the tracking spec is made once, with the SDK's default
background batching (sync_mode=False). The ids carry RUN_ID so that
crates/relais/tests/sdk.rs can find the resulting profile:

    anonymous id  anon-RUN_ID   (a "Product Viewed" before login, then aliased)
    user id       user-RUN_ID
    e-mail        RUN_ID@sdk.example.com
    group id      org-RUN_ID

Exits 0 only if the SDK accepted every call and reported no delivery error
through `on_error` (a non-2xx answer or a network failure).
"""

import logging
import sys

import segment.analytics as analytics


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    if len(args) != 3 or not flags <= {"--gzip"}:
        print(__doc__, file=sys.stderr)
        return 2
    base, write_key, run = args

    errors = []

    def on_error(error, batch):
        errors.append(error)
        print(
            "segment SDK reported an error for a batch of %d: %r" % (len(batch), error),
            file=sys.stderr,
        )

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    # The documented module-level configuration of the SDK.
    analytics.write_key = write_key
    analytics.host = base
    analytics.on_error = on_error
    analytics.sync_mode = False
    analytics.gzip = "--gzip" in flags
    analytics.max_retries = 2
    analytics.timeout = 10

    anon = "anon-" + run
    user = "user-" + run
    email = run + "@sdk.example.com"

    results = [
        # Anonymous browsing before the customer logs in...
        analytics.track(
            anonymous_id=anon,
            event="Product Viewed",
            properties={"product_id": "SKU-1", "price": 19.99},
        ),
        # ...then the login, the purchase and the rest of the spec.
        analytics.identify(
            user_id=user,
            traits={"email": email, "name": "Ada Lovelace", "plan": "pro"},
        ),
        analytics.track(
            user_id=user,
            event="Order Completed",
            properties={
                "order_id": "ord-" + run,
                "total": 59.97,
                "currency": "EUR",
                "products": [
                    {
                        "product_id": "SKU-1",
                        "name": "Tea cup",
                        "price": 19.99,
                        "quantity": 2,
                        "categories": ["kitchen", "tea"],
                    },
                    {
                        "product_id": "SKU-2",
                        "name": "Teapot",
                        "price": 19.99,
                        "quantity": 1,
                        "options": {"colour": "blue", "engraved": True},
                    },
                ],
                "shipping": {"method": "express", "address": {"city": "Lyon", "country": "FR"}},
            },
        ),
        analytics.page(
            user_id=user,
            category="Shop",
            name="Checkout",
            properties={"path": "/checkout", "url": "https://shop.example.com/checkout"},
        ),
        analytics.screen(
            user_id=user,
            category="App",
            name="Home",
            properties={"tab": "featured"},
        ),
        analytics.group(
            user_id=user,
            group_id="org-" + run,
            traits={"name": "Analytical Engines Ltd", "plan": "enterprise"},
        ),
        # The anonymous id seen before login belongs to this user.
        analytics.alias(previous_id=anon, user_id=user),
    ]

    refused = [msg for ok, msg in results if not ok]
    if refused:
        print("the SDK did not queue %d call(s): %r" % (len(refused), refused), file=sys.stderr)

    # Delivers everything queued, then stops the consumer thread.
    analytics.flush()
    analytics.shutdown()

    if refused or errors:
        return 1
    print("sent %d events with segment-analytics-python %s (gzip=%s)" % (len(results), analytics.VERSION, analytics.gzip))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
