"""The durable pipeline between the platforms and the handlers.

ingest (record before ack) → wake (rq as the wake-up signal) → inbox_jobs (claim each
conversation's rows in order, process exactly once) → outbox_jobs (send, retry, order per
recipient); sweeper re-wakes whatever was left behind; registry holds what the composition
roots registered (processors by inbox source, senders by outbox channel). Nothing here imports
a platform adapter.
"""
