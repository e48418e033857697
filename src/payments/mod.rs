//! Payments toward classroom projects through Stripe (docs/decisions.md, "Payments"): the typed
//! Stripe client, webhook signatures and events, and the use cases that apply what Stripe says to
//! the ledger. Card data never reaches this server (PCI SAQ A): the page hands it to Stripe.js.

pub mod events;
pub mod ledger;
pub mod signature;
pub mod stripe;
