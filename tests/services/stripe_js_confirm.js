// Appended by stripe_js.py to localstripe's Stripe.js stand-in: `confirmCardPayment(clientSecret,
// {payment_method: {card}})` confirms the intent with the card from the browser, as Stripe.js does
// (publishable key + client secret), and leaves a `requires_action` answer to localstripe's own
// 3-D Secure step (its original `confirmCardPayment`).
(function () {
  const base = LOCALSTRIPE_BASE_API;
  const make = Stripe;
  Stripe = (key) => {
    const stripe = make(key);
    const authenticate = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const element = data && data.payment_method && data.payment_method.card;
      if (!element || !element.value) return authenticate(clientSecret, data);
      const form = new URLSearchParams({
        key,
        client_secret: clientSecret,
        "payment_method_data[type]": "card",
      });
      for (const [field, value] of Object.entries(element.value.card)) {
        form.set(`payment_method_data[card][${field}]`, value);
      }
      const intent = clientSecret.split("_secret_")[0];
      const res = await fetch(`${base}/v1/payment_intents/${intent}/confirm`, { method: "POST", body: form });
      const body = await res.json().catch(() => ({}));
      if (!res.ok || body.error) return { error: body.error || { message: "The payment failed." } };
      if (body.status === "requires_action") return authenticate(clientSecret, data);
      if (body.status === "requires_payment_method") {
        return { error: body.last_payment_error || { message: "The card was declined." } };
      }
      return { paymentIntent: body };
    };
    return stripe;
  };
})();
