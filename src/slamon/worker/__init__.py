"""The Faust worker: Kafka in, SLA engine, alerts / outcomes / metrics out."""
