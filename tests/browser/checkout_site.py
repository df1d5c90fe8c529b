"""A merchant's checkout pages on their own origin, written the way Stripe's docs show them,
except that the script tag points at Billfold's ``/v3/`` instead of js.stripe.com.

Each page reads the publishable key and client secret from its query string (a real page gets
them from its server) and writes what Stripe.js resolved with into ``#result`` (JSON) and the
message a customer would read into ``#message``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.server import free_port

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <script src="{billfold}/v3/"></script>
</head>
<body>
  <h1>{title}</h1>
  {body}
  <div id="message" role="status"></div>
  <pre id="result"></pre>
  <script>
    const query = new URLSearchParams(window.location.search);
    const publishableKey = query.get("pk");
    const clientSecret = query.get("cs");
    function show(message, result) {{
      document.querySelector("#message").textContent = message;
      document.querySelector("#result").textContent = JSON.stringify(result);
    }}
    {script}
  </script>
</body>
</html>
"""

# The Payment Element quickstart: confirmPayment (or confirmSetup) with a return_url.
ELEMENTS_BODY = """<form id="payment-form">
    <div id="payment-element"></div>
    <button id="submit" type="submit">Pay now</button>
  </form>"""
ELEMENTS_SCRIPT = """
    const stripe = Stripe(publishableKey, {locale: "en"});
    const appearance = {theme: "stripe", variables: {colorPrimary: "#635bff"}};
    const elements = stripe.elements({clientSecret, appearance});
    const paymentElement = elements.create("payment", {layout: "tabs"});
    paymentElement.mount("#payment-element");
    paymentElement.on("ready", () => document.body.dataset.ready = "yes");
    window.changes = [];
    paymentElement.on("change", (event) => window.changes.push(event));
    const setup = query.get("setup") === "1";
    document.querySelector("#payment-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const {error: submitError} = await elements.submit();
      if (submitError) { show(submitError.message, {submitError}); return; }
      const options = {elements, confirmParams: {return_url: window.location.origin + "/complete"}};
      if (query.get("redirect") === "if_required") options.redirect = "if_required";
      const result = setup ? await stripe.confirmSetup(options) : await stripe.confirmPayment(options);
      if (result.error) { show(result.error.message, result); return; }
      const intent = result.paymentIntent || result.setupIntent;
      show("Status: " + intent.status, result);
    });
"""

# The card Element with confirmCardPayment, errors shown from its change events.
CARD_BODY = """<form id="payment-form">
    <label>Name <input id="name" value="Jenny Rosen"></label>
    <div id="card-element"></div>
    <div id="card-errors" role="alert"></div>
    <button id="submit" type="submit">Pay</button>
  </form>"""
CARD_SCRIPT = """
    const stripe = Stripe(publishableKey);
    const elements = stripe.elements();
    const card = elements.create("card");
    card.mount("#card-element");
    card.on("change", (event) => {
      document.querySelector("#card-errors").textContent = event.error ? event.error.message : "";
    });
    document.querySelector("#payment-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await stripe.confirmCardPayment(clientSecret, {
        payment_method: {card, billing_details: {name: document.querySelector("#name").value}},
      });
      if (result.error) { show(result.error.message, result); return; }
      show("Status: " + result.paymentIntent.status, result);
    });
"""

# The page return_url points at: Stripe's docs read the intent back with its client secret.
COMPLETE_SCRIPT = """
    const stripe = Stripe(publishableKey || sessionStorage.getItem("pk"));
    const secret = query.get("payment_intent_client_secret") || query.get("setup_intent_client_secret");
    const retrieve = query.get("setup_intent_client_secret")
      ? stripe.retrieveSetupIntent(secret).then((r) => r.setupIntent)
      : stripe.retrievePaymentIntent(secret).then((r) => r.paymentIntent);
    retrieve.then((intent) => show(
      "Returned: " + query.get("redirect_status") + " / " + intent.status,
      {redirect_status: query.get("redirect_status"), status: intent.status, id: intent.id}
    ));
"""
REMEMBER_KEY = 'if (publishableKey) sessionStorage.setItem("pk", publishableKey);'


@dataclass
class Site:
    url: str


def render(path: str, billfold: str) -> str | None:
    pages = {
        "/checkout": ("Checkout", ELEMENTS_BODY, REMEMBER_KEY + ELEMENTS_SCRIPT),
        "/card": ("Card checkout", CARD_BODY, CARD_SCRIPT),
        "/complete": ("Thank you", "", COMPLETE_SCRIPT),
    }
    if path not in pages:
        return None
    title, body, script = pages[path]
    return PAGE.format(title=html.escape(title), billfold=billfold, body=body, script=script)


@contextmanager
def checkout_site(billfold: str) -> Iterator[Site]:
    """Serve the pages on 127.0.0.1 on a port of their own (another origin than Billfold)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            page = render(urlsplit(self.path).path, billfold)
            body = (page or "not found").encode()
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(url=f"http://127.0.0.1:{port}")
    finally:
        httpd.shutdown()
        httpd.server_close()
