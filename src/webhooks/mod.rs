//! Webhook deliveries: the bodies and signatures of SPEC §6, the retry schedule, and the worker that sends the
//! outbox's pending deliveries (webhook endpoints and task callbacks alike).
pub mod schedule;
pub mod signing;
pub mod worker;

pub use worker::DeliveryWorker;
