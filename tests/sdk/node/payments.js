// Drives Billfold with the official stripe-node package; prints one JSON line of results.
const Stripe = require("stripe");

const [host, port, key] = process.argv.slice(2);
const stripe = new Stripe(key, { host, port: Number(port), protocol: "http", maxNetworkRetries: 0 });

(async () => {
  const customer = await stripe.customers.create({ email: "node@example.com", metadata: { from: "node" } });
  const intent = await stripe.paymentIntents.create({
    amount: 2000,
    currency: "usd",
    customer: customer.id,
    payment_method: "pm_card_visa",
    confirm: true,
    expand: ["latest_charge.balance_transaction"],
  });
  let declined = null;
  try {
    await stripe.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true });
  } catch (error) {
    declined = { type: error.type, code: error.code, decline_code: error.decline_code, status: error.statusCode };
  }
  const listed = await stripe.customers.list({ email: "node@example.com", limit: 1 });
  console.log(JSON.stringify({
    customer: customer.id,
    metadata: customer.metadata,
    status: intent.status,
    fee: intent.latest_charge.balance_transaction.fee,
    declined,
    listed: listed.data.map((c) => c.id),
  }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
